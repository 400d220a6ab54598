//! Operations: the rows core writes for the engine to carry out. Each kind's parameters are
//! one typed struct ([`Params`]), written here by core and read by the engine's saga for
//! that kind, so a field is named once for both sides.

use hybridstack_store::operations::Operation;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::CoreError;

/// The parameters of one operation kind.
pub trait Params: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind the engine registers the saga under (`image.copy`).
    const KIND: &'static str;

    /// The resource the operation works on (the row's `resource_id`).
    fn resource_id(&self) -> &str;

    /// Reads the parameters back from an operation's input.
    fn from_input(input: &Value) -> Result<Self, String> {
        serde_json::from_value(input.clone()).map_err(|e| format!("{} operation input: {e}", Self::KIND))
    }
}

/// Declares operation parameter types: the struct, its kind, and which field is its resource.
#[macro_export]
macro_rules! operation_params {
    ($(#[$doc:meta])* $name:ident = $kind:literal on $resource:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $($(#[$fdoc])* #[serde(default)] pub $field: $ty),*
        }

        impl $crate::operations::Params for $name {
            const KIND: &'static str = $kind;
            fn resource_id(&self) -> &str {
                &self.$resource
            }
        }
    };
}

/// A fresh operation row for `kind` on a resource.
pub fn operation(kind: &str, resource_id: &str, input: Value) -> Operation {
    let t = crate::clock::now_micros();
    Operation {
        id: crate::clock::new_id(),
        kind: kind.into(),
        resource_id: resource_id.into(),
        state: "pending".into(),
        input: input.to_string(),
        steps_done: "[]".into(),
        error: None,
        lease_owner: None,
        lease_until: 0,
        attempts: 0,
        created_at: t,
        updated_at: t,
    }
}

/// The operation row for typed parameters.
pub(crate) fn operation_of<P: Params>(p: &P) -> Result<Operation, CoreError> {
    let input = serde_json::to_value(p).map_err(|e| CoreError::Internal(format!("{} parameters: {e}", P::KIND)))?;
    Ok(operation(P::KIND, p.resource_id(), input))
}
