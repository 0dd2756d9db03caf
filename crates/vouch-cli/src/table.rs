//! Plain-text tables for terminal output.

/// Rows of cells printed with columns padded to their widest cell; columns
/// whose header starts with `>` are right-aligned (numbers).
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are made safe for a terminal (see `terminal_safe`).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.iter().map(|c| terminal_safe(c)).collect());
    }

    pub fn render(&self) -> String {
        let right: Vec<bool> = self.headers.iter().map(|h| h.starts_with('>')).collect();
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|h| h.trim_start_matches('>').to_owned())
            .collect();
        let width = |c: usize| {
            std::iter::once(&headers[c])
                .chain(self.rows.iter().filter_map(|r| r.get(c)))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..headers.len()).map(width).collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if right[c] {
                        format!("{cell:>w$}", w = widths[c])
                    } else {
                        format!("{cell:<w$}", w = widths[c])
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut out = line(&headers);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// Customer text is hostile input: control characters (escape sequences
/// that could rewrite the terminal, line breaks that would break a table)
/// are shown escaped instead of being sent to the terminal, and so are
/// bidi overrides, which would reorder what follows them.
pub fn terminal_safe(text: &str) -> String {
    use vouch_domain::text::is_bidi_control;
    if !text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(terminal_safe("plain ăîș text"), "plain ăîș text");
        assert_eq!(
            terminal_safe("\u{1b}[2Jgone\nnext"),
            "\\u{1b}[2Jgone\\nnext"
        );
        let mut table = Table::new(&["a"]);
        table.row(vec!["\u{1b}]0;title\u{7}".to_owned()]);
        assert!(!table.render().contains('\u{1b}'));
        assert_eq!(thousands(1234567), "1,234,567");
        // "Trojan source": an override would show "gnp.exe" reversed.
        assert_eq!(
            terminal_safe("invoice\u{202e}gnp.exe\u{2069}"),
            "invoice\\u{202e}gnp.exe\\u{2069}"
        );
    }
}
