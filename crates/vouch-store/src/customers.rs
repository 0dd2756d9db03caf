use std::collections::{BTreeMap, HashMap, HashSet};

use vouch_domain::{Customer, CustomerId, CustomerProfile, DomainEvent};

use crate::batch::{Sql, Value, bind_values, placeholders};
use crate::events::append_events;
use crate::rows::{CUSTOMER_COLUMNS, CustomerRow};
use crate::store::{BeginWrite, execute_inserts, insert_rows, on_backend};
use crate::{Result, Store, StoreError};

const CUSTOMER_INSERT_COLUMNS: &[&str] = &[
    "external_id",
    "email",
    "name",
    "locale",
    "created_at",
    "churned_at",
    "referred_by",
];

/// One (customer, key, value) row per entry of a per-customer map.
fn keyed_rows<'a>(
    customers: &'a [CustomerProfile],
    ids: &'a [i64],
    map: fn(&CustomerProfile) -> &BTreeMap<String, String>,
) -> Vec<Vec<Value>> {
    customers
        .iter()
        .zip(ids)
        .flat_map(|(c, id)| {
            map(c)
                .iter()
                .map(move |(k, v)| vec![Value::from(*id), k.as_str().into(), v.as_str().into()])
        })
        .collect()
}

/// Which customers a listing returns. Empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFilter {
    /// As `Email::parse` normalises it.
    pub email: Option<String>,
    pub external_id: Option<String>,
    /// Attributes that must all match (`plan` = `pro`).
    pub attributes: Vec<(String, String)>,
    /// Created at or after.
    pub created_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Created strictly before.
    pub created_to: Option<chrono::DateTime<chrono::Utc>>,
    /// Words found in the name, email or external id (any case).
    pub search: Option<String>,
    /// Only these customers (a page of a list computed elsewhere, such as
    /// the customers of one flow between categories).
    pub ids: Option<Vec<CustomerId>>,
}

/// A column that names a customer in imported records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerKey {
    Email,
    ExternalId,
}

impl Store {
    /// Adds customers with their attributes and handles in one transaction
    /// and returns their ids in the order given.
    pub async fn insert_customers(&self, customers: &[CustomerProfile]) -> Result<Vec<CustomerId>> {
        let rows: Vec<Vec<Value>> = customers
            .iter()
            .map(|c| {
                vec![
                    c.external_id.clone().into(),
                    c.email.as_ref().map(|e| e.as_str().to_owned()).into(),
                    c.name.clone().into(),
                    c.locale.as_str().into(),
                    c.created_at.into(),
                    c.churned_at.into(),
                    c.referred_by.map(|r| r.0).into(),
                ]
            })
            .collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let ids = insert_rows!(self.backend(), tx, "customers", CUSTOMER_INSERT_COLUMNS, &rows).await?;
            let attributes = keyed_rows(customers, &ids, |c| &c.attributes);
            let handles = keyed_rows(customers, &ids, |c| &c.handles);
            execute_inserts!(self.backend(), tx, "customer_attributes", &["customer_id", "name", "value"], "", &attributes).await?;
            execute_inserts!(self.backend(), tx, "customer_handles", &["customer_id", "platform", "handle"], "", &handles).await?;
            let events: Vec<DomainEvent> = ids
                .iter()
                .zip(customers)
                .map(|(id, profile)| DomainEvent::CustomerCreated(Customer { id: CustomerId(*id), profile: profile.clone() }))
                .collect();
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(ids.into_iter().map(CustomerId).collect())
        })
    }

    /// Customer ids by email address or external id, for the `values` that
    /// name a customer (emails as `Email::match_key` gives them).
    pub async fn customer_ids_by(
        &self,
        key: CustomerKey,
        values: &[&str],
    ) -> Result<HashMap<String, CustomerId>> {
        let column = match key {
            // Matched by `Email::match_key`, through the index on lower(email).
            CustomerKey::Email => "lower(email)",
            CustomerKey::ExternalId => "external_id",
        };
        self.ids_where(
            &format!("SELECT {column}, id FROM customers WHERE {column} IN"),
            &[],
            values,
        )
        .await
    }

    /// Customer ids by their handle on `platform` (a source name: `twitter`, `trustpilot`…).
    pub async fn customer_ids_by_handle(
        &self,
        platform: &str,
        handles: &[&str],
    ) -> Result<HashMap<String, CustomerId>> {
        if handles.is_empty() {
            return Ok(HashMap::new());
        }
        // Most platforms have no handle on record (reviews are anonymous):
        // one look-up spares the chunked queries an import batch would make.
        let any_sql = format!(
            "SELECT 1 FROM customer_handles WHERE platform = {} LIMIT 1",
            placeholders(self.backend(), 1, 1)
        );
        let any: Option<i32> = on_backend!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(any_sql)).bind(platform).fetch_optional(pool).await
        })?;
        if any.is_none() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT handle, customer_id FROM customer_handles WHERE platform = {} AND handle IN",
            placeholders(self.backend(), 1, 1)
        );
        self.ids_where(&sql, &[platform], handles).await
    }

    /// Runs `select` (ending in `IN`) with `fixed` then a list of `values`, in chunks.
    async fn ids_where(
        &self,
        select: &str,
        fixed: &[&str],
        values: &[&str],
    ) -> Result<HashMap<String, CustomerId>> {
        let mut found = HashMap::new();
        for chunk in values.chunks(500) {
            let sql = format!(
                "{select} ({})",
                placeholders(self.backend(), fixed.len() + 1, chunk.len())
            );
            let rows: Vec<(String, i64)> = on_backend!(self, pool => {
                let query = fixed.iter().chain(chunk).fold(
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false),
                    |q, value| q.bind(*value),
                );
                query.fetch_all(pool).await
            })?;
            found.extend(rows.into_iter().map(|(k, id)| (k, CustomerId(id))));
        }
        Ok(found)
    }

    /// Sets attributes of existing customers (new names added, known ones overwritten).
    pub async fn set_customer_attributes(
        &self,
        attributes: &[(CustomerId, String, String)],
    ) -> Result<()> {
        let rows: Vec<Vec<Value>> = attributes
            .iter()
            .map(|(id, name, value)| {
                vec![
                    Value::from(id.0),
                    name.as_str().into(),
                    value.as_str().into(),
                ]
            })
            .collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            execute_inserts!(self.backend(), tx, "customer_attributes", &["customer_id", "name", "value"],
                "ON CONFLICT (customer_id, name) DO UPDATE SET value = excluded.value", &rows).await?;
            let mut changed: BTreeMap<CustomerId, Vec<String>> = BTreeMap::new();
            for (id, name, _) in attributes {
                changed.entry(*id).or_default().push(format!("attributes.{name}"));
            }
            let events: Vec<DomainEvent> = changed
                .into_iter()
                .map(|(customer_id, changed)| DomainEvent::CustomerUpdated { customer_id, changed })
                .collect();
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Records that `referrer`'s referral brought `customer` in.
    pub async fn set_referrer(&self, customer: CustomerId, referrer: CustomerId) -> Result<()> {
        const SQL: &str = "UPDATE customers SET referred_by = $1 WHERE id = $2";
        let event = DomainEvent::CustomerUpdated {
            customer_id: customer,
            changed: vec!["referred_by".to_owned()],
        };
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query(SQL).bind(referrer.0).bind(customer.0).execute(&mut *tx).await?.rows_affected();
            if updated == 1 {
                append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// One customer by id.
    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
        let row: Option<CustomerRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).fetch_optional(pool).await)?;
        Ok(self.with_details(row.into_iter().collect()).await?.pop())
    }

    /// Customers by id, in one read per 500 (an import's known rows);
    /// ids that name no one are left out.
    pub async fn customers_by_ids(&self, ids: &[CustomerId]) -> Result<Vec<Customer>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let list = placeholders(self.backend(), 1, chunk.len());
            let sql = format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN ({list}) ORDER BY id"
            );
            let rows: Vec<CustomerRow> = on_backend!(self, pool => chunk
                .iter()
                .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false), |q, id| q.bind(id.0))
                .fetch_all(pool)
                .await)?;
            let mut details: [Vec<(i64, String, String)>; 2] = Default::default();
            for (slot, table) in DETAIL_TABLES.iter().enumerate() {
                let sql = format!("{table} WHERE customer_id IN ({list})");
                details[slot] = on_backend!(self, pool => chunk
                    .iter()
                    .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false), |q, id| q.bind(id.0))
                    .fetch_all(pool)
                    .await)?;
            }
            found.extend(with_details(rows, details)?);
        }
        Ok(found)
    }

    /// A customer by numeric id, email address or external (CRM) id, in that order.
    pub async fn find_customer(&self, key: &str) -> Result<Customer> {
        let key = key.trim();
        let by =
            |column: &str| format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {column} = $1");
        let row: Option<CustomerRow> = if let Ok(id) = key.parse::<i64>() {
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(by("id"))).bind(id).fetch_optional(pool).await)?
        } else {
            None
        };
        let row = match row {
            Some(row) => Some(row),
            None => {
                let column = if key.contains('@') {
                    "email"
                } else {
                    "external_id"
                };
                let (column, value) = match vouch_domain::Email::parse(key) {
                    Ok(email) if column == "email" => ("lower(email)", email.match_key()),
                    _ => (column, key.to_owned()),
                };
                on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(by(column))).bind(value).fetch_optional(pool).await)?
            }
        };
        let row = row.ok_or_else(|| StoreError::NotFound {
            what: "customer",
            key: key.to_owned(),
        })?;
        self.with_details(vec![row])
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound {
                what: "customer",
                key: key.to_owned(),
            })
    }

    /// A page of customers that match `filter`, ordered by id, starting
    /// after `after` (keyset pagination).
    pub async fn customers(
        &self,
        filter: &CustomerFilter,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>> {
        let mut sql = Sql::default();
        let mut conditions = vec![format!("id > {}", sql.bind(after.map_or(0, |a| a.0)))];
        if let Some(email) = &filter.email {
            conditions.push(format!("email = {}", sql.bind(email.as_str())));
        }
        if let Some(external_id) = &filter.external_id {
            conditions.push(format!("external_id = {}", sql.bind(external_id.as_str())));
        }
        for (name, value) in &filter.attributes {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = customers.id AND a.name = {} AND a.value = {})",
                sql.bind(name.as_str()),
                sql.bind(value.as_str())
            ));
        }
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                conditions.push("1 = 0".into());
            } else {
                let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
                conditions.push(format!("id IN ({})", sql.bind_list(&ids)));
            }
        }
        if let Some(from) = filter.created_from {
            conditions.push(format!("created_at >= {}", sql.bind(from)));
        }
        if let Some(to) = filter.created_to {
            conditions.push(format!("created_at < {}", sql.bind(to)));
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let pattern = format!("%{}%", like_literal(&search.to_lowercase()));
            let mut any = Vec::new();
            for column in ["name", "email", "external_id"] {
                any.push(format!(
                    "LOWER(COALESCE({column}, '')) LIKE {} ESCAPE '!'",
                    sql.bind(pattern.as_str())
                ));
            }
            conditions.push(format!("({})", any.join(" OR ")));
        }
        sql.text = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {} ORDER BY id LIMIT {}",
            conditions.join(" AND "),
            sql.bind(i64::from(limit))
        );
        let rows: Vec<CustomerRow> = on_backend!(self, pool =>
            bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter()).fetch_all(pool).await)?;
        self.with_details(rows).await
    }

    /// How many customers speak each language (their locale), most first.
    pub async fn customer_locales(&self) -> Result<Vec<(String, u64)>> {
        const SQL: &str =
            "SELECT locale, COUNT(*) FROM customers GROUP BY locale ORDER BY COUNT(*) DESC, locale";
        let rows: Vec<(String, i64)> =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(l, n)| (l, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// Replaces a customer's profile, attributes and handles included.
    pub async fn update_customer(&self, id: CustomerId, profile: &CustomerProfile) -> Result<()> {
        const SQL: &str = "UPDATE customers SET external_id = $1, email = $2, name = $3, locale = $4, \
            created_at = $5, churned_at = $6, referred_by = $7 WHERE id = $8";
        let details = keyed_rows(std::slice::from_ref(profile), &[id.0], |c| &c.attributes);
        let handles = keyed_rows(std::slice::from_ref(profile), &[id.0], |c| &c.handles);
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query(SQL)
                .bind(profile.external_id.as_deref())
                .bind(profile.email.as_ref().map(|e| e.as_str()))
                .bind(profile.name.as_deref())
                .bind(profile.locale.as_str())
                .bind(profile.created_at)
                .bind(profile.churned_at)
                .bind(profile.referred_by.map(|r| r.0))
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                return Err(StoreError::NotFound { what: "customer", key: id.to_string() });
            }
            sqlx::query("DELETE FROM customer_attributes WHERE customer_id = $1").bind(id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM customer_handles WHERE customer_id = $1").bind(id.0).execute(&mut *tx).await?;
            execute_inserts!(self.backend(), tx, "customer_attributes", &["customer_id", "name", "value"], "", &details).await?;
            execute_inserts!(self.backend(), tx, "customer_handles", &["customer_id", "platform", "handle"], "", &handles).await?;
            let event = DomainEvent::CustomerUpdated { customer_id: id, changed: vec!["profile".to_owned()] };
            append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Erases a customer (GDPR): their profile, attributes and handles go;
    /// their answers and feedback stay for the aggregates but lose every
    /// link to them (customer, author name and handle, answer metadata).
    /// Returns false when there was no such customer.
    /// Erases a customer (GDPR art. 17) in one transaction: their profile,
    /// attributes and handles are deleted; their answers and feedback stay
    /// in the aggregates, unlinked and without author names or answer
    /// metadata; `erasure.scrub` texts are replaced by `[erased]` in every
    /// feedback text; queued jobs whose payload matches a LIKE pattern of
    /// `erasure.jobs` are deleted (webhook payloads about them); the
    /// identifier hashes are kept. False when there was no such customer.
    pub async fn erase_customer(&self, id: CustomerId, erasure: &Erasure) -> Result<bool> {
        const UNLINK_FEEDBACK: &str = "UPDATE feedback_items SET customer_id = NULL, author_name = NULL, author_handle = NULL WHERE customer_id = $1";
        const UNLINK_ANSWERS: &str =
            "UPDATE responses SET customer_id = NULL, metadata = '{}' WHERE customer_id = $1";
        const UNLINK_REFERRALS: &str =
            "UPDATE customers SET referred_by = NULL WHERE referred_by = $1";
        // The program keeps a member's ledger (finance needs it) without
        // the person: the member has left, and as a referred friend their
        // address goes from the referrals.
        const LEAVE_PROGRAM: &str = "UPDATE program_members SET status = 'left', terms_version = NULL WHERE customer_id = $1";
        const UNLINK_FRIEND: &str = "UPDATE referrals SET friend_email = NULL, friend_key = NULL WHERE friend_customer_id = $1";
        const DELETE: &str = "DELETE FROM customers WHERE id = $1";
        const SCRUB_FRIENDS: &str = "UPDATE referrals SET friend_email = NULL, friend_key = NULL WHERE LOWER(friend_email) = LOWER($1)";
        const SCRUB: &str = "UPDATE feedback_items SET body = REPLACE(body, $1, '[erased]'), \
            title = REPLACE(title, $1, '[erased]') WHERE body LIKE $2 ESCAPE '!' OR title LIKE $2 ESCAPE '!'";
        const SCRUB_ANSWERS: &str = "UPDATE responses SET comment = REPLACE(comment, $1, '[erased]') WHERE comment LIKE $2 ESCAPE '!'";
        const DROP_JOBS: &str = "DELETE FROM jobs WHERE state IN ('queued', 'running') AND LOWER(CAST(payload AS TEXT)) LIKE $1 ESCAPE '!'";
        const KEEP_HASH: &str = "INSERT INTO erased_identifiers (hash, erased_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING";
        // Their events carry their data: erasure outranks a consumer that
        // has not read them yet.
        const DROP_EVENTS: &str = "DELETE FROM events WHERE customer_id = $1";
        let scrub_events = match self.backend() {
            crate::Backend::Sqlite => {
                "UPDATE events SET data = REPLACE(data, $1, '[erased]') WHERE data LIKE $2 ESCAPE '!'"
            }
            crate::Backend::Postgres => {
                "UPDATE events SET data = CAST(REPLACE(CAST(data AS TEXT), $1, '[erased]') AS JSONB) WHERE CAST(data AS TEXT) LIKE $2 ESCAPE '!'"
            }
        };
        let erased = DomainEvent::CustomerErased { customer_id: id };
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for sql in [UNLINK_FEEDBACK, UNLINK_ANSWERS, UNLINK_REFERRALS, LEAVE_PROGRAM, UNLINK_FRIEND] {
                sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
            }
            let deleted = sqlx::query(DELETE).bind(id.0).execute(&mut *tx).await?.rows_affected();
            if deleted == 0 {
                return Ok(false);
            }
            sqlx::query(DROP_EVENTS).bind(id.0).execute(&mut *tx).await?;
            for text in &erasure.scrub {
                let pattern = format!("%{}%", like_literal(text));
                for sql in [SCRUB, SCRUB_ANSWERS, scrub_events] {
                    sqlx::query(sql).bind(text).bind(&pattern).execute(&mut *tx).await?;
                }
                sqlx::query(SCRUB_FRIENDS).bind(text).execute(&mut *tx).await?;
            }
            for pattern in &erasure.jobs {
                sqlx::query(DROP_JOBS).bind(pattern).execute(&mut *tx).await?;
            }
            for hash in &erasure.identifier_hashes {
                sqlx::query(KEEP_HASH).bind(hash).bind(erasure.at).execute(&mut *tx).await?;
            }
            append_events!(self.backend(), tx, std::slice::from_ref(&erased)).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Every kept hash of an erased person's identifier (a few per
    /// erasure: small enough to hold, and one query however large the import).
    pub async fn erased_identifier_hashes(&self) -> Result<HashSet<String>> {
        const SQL: &str = "SELECT hash FROM erased_identifiers";
        let hashes: Vec<String> =
            on_backend!(self, pool => sqlx::query_scalar(SQL).fetch_all(pool).await)?;
        Ok(hashes.into_iter().collect())
    }

    pub async fn count_customers(&self) -> Result<u64> {
        let n: i64 = on_backend!(self, pool =>
            sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(pool).await)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Loads attributes and handles for customer rows sorted by id, with one
    /// range query per table rather than one per customer.
    async fn with_details(&self, rows: Vec<CustomerRow>) -> Result<Vec<Customer>> {
        let (Some(first), Some(last)) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id))
        else {
            return Ok(Vec::new());
        };
        let (low, high) = (first.min(last), first.max(last));
        let mut details: [Vec<(i64, String, String)>; 2] = Default::default();
        for (slot, table) in DETAIL_TABLES.iter().enumerate() {
            let sql = format!("{table} WHERE customer_id BETWEEN $1 AND $2");
            details[slot] = on_backend!(self, pool =>
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(low).bind(high).fetch_all(pool).await)?;
        }
        with_details(rows, details)
    }
}

/// A customer's attributes and handles, each `(customer_id, name, value)`.
const DETAIL_TABLES: [&str; 2] = [
    "SELECT customer_id, name, value FROM customer_attributes",
    "SELECT customer_id, platform, handle FROM customer_handles",
];

/// Customers from their rows and the attribute and handle rows read for
/// them (`DETAIL_TABLES`, in that order); rows of other customers are
/// passed over.
fn with_details(
    rows: Vec<CustomerRow>,
    [attributes, handles]: [Vec<(i64, String, String)>; 2],
) -> Result<Vec<Customer>> {
    let by_customer = |entries: Vec<(i64, String, String)>| {
        let mut map: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
        for (id, k, v) in entries {
            map.entry(id).or_default().insert(k, v);
        }
        map
    };
    let (mut attributes, mut handles) = (by_customer(attributes), by_customer(handles));
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            row.into_customer(
                attributes.remove(&id).unwrap_or_default(),
                handles.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// What erasing a customer removes besides their record (see `erase_customer`).
#[derive(Debug, Clone, Default)]
pub struct Erasure {
    /// Texts (their name, email, handles) to replace in feedback and comments.
    pub scrub: Vec<String>,
    /// LIKE patterns, lower-case, matching the payloads of jobs about them.
    pub jobs: Vec<String>,
    /// Keyed hashes of their identifiers, kept so they are not re-imported.
    pub identifier_hashes: Vec<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// `text` taken literally in a `LIKE … ESCAPE '!'` pattern, the same on
/// both backends (PostgreSQL's default escape is a backslash, SQLite has none).
pub fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            escaped.push('!');
        }
        escaped.push(c);
    }
    escaped
}
