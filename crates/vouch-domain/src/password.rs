//! What a staff password must be (OWASP ASVS 5.0 6.2, NIST SP 800-63B
//! 5.1.1.2): at least 12 characters, at most 128, and not one of the
//! 100,000 most common breached passwords. No composition rules: they
//! make passwords harder to remember, not to guess.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest, in characters (Argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
    #[error("this password is among the 100,000 most common breached passwords; choose another")]
    Common,
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords-100k.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Checks a new staff password.
pub fn check_password(password: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(WeakPassword::TooLong);
    }
    let list = common_passwords();
    if list.contains(password) || list.contains(password.to_lowercase().as_str()) {
        return Err(WeakPassword::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uncommon_passwords_pass_and_no_others() {
        assert_eq!(common_passwords().len(), 100_000);
        assert_eq!(check_password("short"), Err(WeakPassword::TooShort));
        assert_eq!(check_password("123456789012"), Err(WeakPassword::Common));
        assert_eq!(check_password("PASSWORD1234"), Err(WeakPassword::Common));
        assert_eq!(check_password(&"a".repeat(129)), Err(WeakPassword::TooLong));
        // No composition rules: lower-case words are fine when long and rare.
        assert_eq!(check_password("correct horse battery staple"), Ok(()));
        assert_eq!(check_password("ăîșț ăîșț ăîșț"), Ok(()));
    }
}
