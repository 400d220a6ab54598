//! The compute operations' parameters, one type per kind: written by the compute service,
//! read by the engine's saga of that kind. The request id names the instance action the
//! operation closes.

use crate::operation_params;

operation_params! {
    /// Places, wires up and boots a new server.
    CreateServer = "server.create" on server_id { server_id: String, request_id: Option<String> }
}

operation_params! {
    /// Removes a server and everything it holds on its cloud.
    DeleteServer = "server.delete" on server_id { server_id: String, request_id: Option<String> }
}

operation_params! {
    /// A power action (`start`, `stop`, `reboot`, `pause`, `unpause`, `suspend`, `resume`).
    PowerServer = "server.power" on server_id {
        server_id: String,
        request_id: Option<String>,
        action: String,
        /// For `reboot`: a hard one.
        hard: bool,
    }
}

operation_params! {
    /// A new root disk from `image_id`.
    RebuildServer = "server.rebuild" on server_id { server_id: String, request_id: Option<String>, image_id: String }
}

operation_params! {
    /// A cold resize to `flavor_id`.
    ResizeServer = "server.resize" on server_id { server_id: String, request_id: Option<String>, flavor_id: String }
}

operation_params! {
    /// Keeps the new size of a resize.
    ConfirmResize = "server.confirm_resize" on server_id { server_id: String, request_id: Option<String> }
}

operation_params! {
    /// Goes back to the size before a resize.
    RevertResize = "server.revert_resize" on server_id { server_id: String, request_id: Option<String> }
}

operation_params! {
    /// Fills the image `image_id` from the server's root disk (`createImage`).
    SnapshotServer = "server.snapshot" on server_id { server_id: String, request_id: Option<String>, image_id: String }
}
