//! Request bodies. OpenStack clients send `Content-Type: application/json` even on bodiless
//! PUT/DELETE, so bodies are read as bytes and parsed only where a handler needs one; a
//! malformed body is a 400 that says what was wrong.

use hybridstack_core::CoreError;
use serde_json::{Map, Value};

use crate::ApiError;

/// The object under `key` in a JSON body (`{"project": {...}}`).
pub(crate) fn object(bytes: &[u8], key: &str) -> Result<Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| CoreError::BadRequest(format!("The request body is not valid JSON: {e}")))?;
    match v.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(CoreError::BadRequest(format!("The request body must hold an object named '{key}'.")).into()),
    }
}

/// Typed field access with 400s that name the field.
pub(crate) trait Fields {
    fn opt_str(&self, k: &str) -> Result<Option<String>, ApiError>;
    fn req_str(&self, k: &str) -> Result<String, ApiError>;
    fn opt_bool(&self, k: &str) -> Result<Option<bool>, ApiError>;
    fn opt_str_list(&self, k: &str) -> Result<Option<Vec<String>>, ApiError>;

    /// Sets `slot` from field `k` when the body names it; leaves it as it was otherwise
    /// (an update changes only what it names).
    fn patch<T: Slot>(&self, k: &str, slot: &mut T) -> Result<(), ApiError>;
}

/// A field type an update can set in place.
pub(crate) trait Slot: Sized {
    fn read(b: &Map<String, Value>, k: &str) -> Result<Option<Self>, ApiError>;
}

impl Slot for String {
    fn read(b: &Map<String, Value>, k: &str) -> Result<Option<Self>, ApiError> {
        b.opt_str(k)
    }
}

impl Slot for bool {
    fn read(b: &Map<String, Value>, k: &str) -> Result<Option<Self>, ApiError> {
        b.opt_bool(k)
    }
}

impl Slot for Vec<String> {
    fn read(b: &Map<String, Value>, k: &str) -> Result<Option<Self>, ApiError> {
        b.opt_str_list(k)
    }
}

impl Fields for Map<String, Value> {
    fn patch<T: Slot>(&self, k: &str, slot: &mut T) -> Result<(), ApiError> {
        if let Some(v) = T::read(self, k)? {
            *slot = v;
        }
        Ok(())
    }

    fn opt_str(&self, k: &str) -> Result<Option<String>, ApiError> {
        match self.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(CoreError::BadRequest(format!("'{k}' must be a string.")).into()),
        }
    }

    fn req_str(&self, k: &str) -> Result<String, ApiError> {
        self.opt_str(k)?.ok_or_else(|| CoreError::BadRequest(format!("'{k}' is a required property.")).into())
    }

    fn opt_bool(&self, k: &str) -> Result<Option<bool>, ApiError> {
        match self.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(CoreError::BadRequest(format!("'{k}' must be a boolean.")).into()),
        }
    }

    fn opt_str_list(&self, k: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| CoreError::BadRequest(format!("'{k}' must be a list of strings.")).into()),
            Some(_) => Err(CoreError::BadRequest(format!("'{k}' must be a list of strings.")).into()),
        }
    }
}

/// Query-string booleans as OpenStack clients write them.
pub(crate) fn query_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}
