//! Time and ids as the services make them: unix microseconds as the store keeps time,
//! Keystone's ISO 8601 rendering, the seconds form Nova, Neutron and Cinder show, and the
//! UUIDs resources are named by.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// `2026-11-25T17:47:35Z`, the form Nova, Neutron and Cinder show.
pub fn now() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new resource id: a hyphenated UUID (Keystone's are [`new_hex_id`]).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A new Keystone id: 32 hex digits.
pub fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `2026-11-25T17:47:35.000000Z`, the form Keystone uses for `expires_at`/`issued_at`.
pub fn iso(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Micros, true),
        None => String::new(),
    }
}

/// Parses the ISO 8601 forms clients send (`…Z`, `…+00:00`, or with no zone, read as UTC).
pub fn parse_iso(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        let t = 1_795_000_000_123_456;
        assert_eq!(parse_iso(&iso(t)), Some(t));
        assert_eq!(parse_iso("2030-01-02T03:04:05"), parse_iso("2030-01-02T03:04:05Z"));
        assert_eq!(parse_iso("not a time"), None);
    }
}
