//! `os-instance-actions`: a record of every action taken on a server, with an event per
//! engine run (`compute_<action>`) that ends in Success or Error.

use hybridstack_store::server_actions::ActionRow;
use hybridstack_store::write::Write;
use hybridstack_store::StoreError;

use super::model::{ActionEvent, InstanceAction, Server};
use super::servers::server_not_found;
use super::{now, Compute};
use crate::policy::RequestContext;
use crate::CoreError;

/// A new action record, with its engine event started (actions done synchronously close it
/// at once through `finish_action`).
pub(crate) fn action_row(s: &Server, action: &str, request_id: &str, user_id: &str) -> Result<ActionRow, CoreError> {
    let t = now();
    let a = InstanceAction {
        action: action.into(),
        instance_uuid: s.id.clone(),
        request_id: request_id.into(),
        user_id: user_id.into(),
        project_id: s.project_id.clone(),
        start_time: t.clone(),
        updated_at: t.clone(),
        message: None,
        events: vec![ActionEvent {
            event: format!("compute_{}", action.replace(' ', "_")),
            start_time: t,
            finish_time: None,
            result: None,
            traceback: None,
        }],
    };
    encode(&a)
}

fn encode(a: &InstanceAction) -> Result<ActionRow, CoreError> {
    Ok(ActionRow {
        server_id: a.instance_uuid.clone(),
        request_id: a.request_id.clone(),
        project_id: a.project_id.clone(),
        start_time: crate::clock::parse_iso(&a.start_time).unwrap_or_else(crate::clock::now_micros),
        body: serde_json::to_string(a).map_err(|e| CoreError::Internal(e.to_string()))?,
    })
}

fn decode(r: &ActionRow) -> Result<InstanceAction, CoreError> {
    serde_json::from_str(&r.body).map_err(|e| CoreError::Internal(format!("stored instance action is corrupt: {e}")))
}

impl Compute {
    /// Closes an action's open events with the outcome; an error also becomes its message.
    pub async fn finish_action(&self, server_id: &str, request_id: &str, error: Option<&str>) -> Result<(), CoreError> {
        if let Some(row) = self.closed_action(server_id, request_id, error).await? {
            self.store.write(&Write { actions: vec![row], ..Default::default() }).await?;
        }
        Ok(())
    }

    /// The action's row with its open events closed with the outcome, to be written (none:
    /// the action is not recorded).
    pub(crate) async fn closed_action(
        &self,
        server_id: &str,
        request_id: &str,
        error: Option<&str>,
    ) -> Result<Option<ActionRow>, CoreError> {
        let row = match self.store.action_get(server_id, request_id).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut a = decode(&row)?;
        let t = now();
        for e in a.events.iter_mut().filter(|e| e.finish_time.is_none()) {
            e.finish_time = Some(t.clone());
            e.result = Some(if error.is_some() { "Error".into() } else { "Success".into() });
            e.traceback = error.map(str::to_string);
        }
        if error.is_some() {
            a.message = Some("Error".into());
        }
        a.updated_at = t;
        encode(&a).map(Some)
    }

    async fn visible_server(&self, ctx: &RequestContext, id: &str) -> Result<Server, CoreError> {
        // Actions of deleted servers stay readable (microversion 2.21 made that the rule).
        match self.server_row(id).await? {
            Some((s, _)) if ctx.sees_project(&s.project_id) => Ok(s),
            _ => Err(server_not_found(id)),
        }
    }

    pub async fn instance_actions(&self, ctx: &RequestContext, id: &str) -> Result<Vec<InstanceAction>, CoreError> {
        self.visible_server(ctx, id).await?;
        self.store.action_list(id).await?.iter().map(decode).collect()
    }

    pub async fn instance_action(
        &self,
        ctx: &RequestContext,
        id: &str,
        request_id: &str,
    ) -> Result<InstanceAction, CoreError> {
        self.visible_server(ctx, id).await?;
        match self.store.action_get(id, request_id).await {
            Ok(r) => decode(&r),
            Err(StoreError::NotFound) => {
                Err(CoreError::NotFound(format!("Action for request_id {request_id} on instance {id} not found")))
            }
            Err(e) => Err(e.into()),
        }
    }
}
