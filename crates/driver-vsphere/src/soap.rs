//! A vim25 SOAP client: one session per cloud, kept by its cookie and opened again when
//! vCenter says it has ended (idle timeout, an administrator's TerminateSession, a vCenter
//! restart). Written here because no Rust crate speaks vim25 over SOAP: `vim_rs` needs the
//! VI/JSON API of vCenter 8.0U1+, which older vCenters (6.5 to 8.0) and govmomi's simulator
//! lack, while SOAP is what every vCenter from 6.5 to 9 answers. The HTTP and TLS underneath
//! are reqwest and rustls.

use std::time::Duration;

use hybridstack_driver::DriverError;
use parking_lot::RwLock;

use crate::xml::{Mor, Node, Xml};

/// The services of a vCenter that this driver calls, from RetrieveServiceContent.
#[derive(Debug, Clone)]
pub struct ServiceContent {
    pub property_collector: Mor,
    pub view_manager: Mor,
    pub search_index: Mor,
    pub session_manager: Mor,
    /// The managers of datastore files and disks are optional in vim25 (a host agent may
    /// lack them); the calls that need one fail with the reason rather than the login.
    pub file_manager: Option<Mor>,
    pub virtual_disk_manager: Option<Mor>,
    pub about: About,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// `VMware vCenter Server 6.5.0 build-5973321`
    pub full_name: String,
    pub version: String,
    pub api_version: String,
    /// `VirtualCenter` for a vCenter, `HostAgent` for a lone ESXi host.
    pub api_type: String,
}

/// How a vCenter is reached and who logs in.
#[derive(Clone)]
pub struct Endpoint {
    /// `https://vc.example/sdk`
    pub url: String,
    pub user: String,
    pub password: String,
    /// Accept a certificate no trusted authority signed (a lab vCenter's self-signed one).
    pub insecure: bool,
    /// PEM certificates to trust besides the system's.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log line.
        f.debug_struct("Endpoint").field("url", &self.url).field("user", &self.user).finish_non_exhaustive()
    }
}

pub struct Soap {
    http: reqwest::Client,
    endpoint: Endpoint,
    content: ServiceContent,
    /// `vmware_soap_session="…"`, as vCenter set it at Login.
    cookie: RwLock<Option<String>>,
    /// One Login at a time: calls that all meet an ended session log in once.
    login: tokio::sync::Mutex<()>,
}

/// A fault vCenter answered with: its vim25 type (`NotAuthenticated`, `InvalidLogin`,
/// `ManagedObjectNotFound`, `DuplicateName`…) and message.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: String,
    pub message: String,
}

impl Fault {
    pub fn into_driver_error(self, doing: &str) -> DriverError {
        let msg = format!("{doing}: vCenter fault {}: {}", self.kind, self.message);
        match self.kind.as_str() {
            "ManagedObjectNotFound" | "NotFound" | "FileNotFound" => DriverError::NotFound(msg),
            "InvalidArgument"
            | "InvalidRequest"
            | "DuplicateName"
            | "InvalidName"
            | "InvalidState"
            | "InvalidPowerState"
            | "NotSupported"
            | "InvalidDeviceSpec"
            | "InsufficientResourcesFault"
            | "FileAlreadyExists"
            | "AlreadyExists" => DriverError::Rejected(msg),
            "NoPermission" | "InvalidLogin" | "NotAuthenticated" => DriverError::Rejected(msg),
            "HostCommunication" | "HostNotConnected" | "TaskInProgress" | "ResourceInUse" | "RequestCanceled" => {
                DriverError::Transient(msg)
            }
            _ => DriverError::Failed(msg),
        }
    }
}

/// A call's outcome before faults are turned into driver errors: the session-ended fault is
/// handled here by logging in again.
enum Reply {
    Ok(Node),
    Fault(Fault),
}

const SESSION_COOKIE: &str = "vmware_soap_session";

impl Soap {
    /// Connects, reads the service content and logs in.
    pub async fn connect(endpoint: Endpoint) -> Result<Soap, DriverError> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .connect_timeout(Duration::from_secs(15))
            .danger_accept_invalid_certs(endpoint.insecure);
        if let Some(pem) = &endpoint.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| DriverError::Rejected(format!("the CA file holds no PEM certificate: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        let http = b.build().map_err(|e| DriverError::Failed(format!("HTTP client: {e}")))?;
        let this = Mor::new("ServiceInstance", "ServiceInstance");
        let (reply, _) = post(&http, &endpoint.url, None, "RetrieveServiceContent", &this, Xml::new()).await?;
        let content = match reply {
            Reply::Ok(n) => service_content(&n)?,
            Reply::Fault(f) => return Err(f.into_driver_error("RetrieveServiceContent")),
        };
        let soap = Soap { http, endpoint, content, cookie: RwLock::new(None), login: tokio::sync::Mutex::new(()) };
        soap.log_in(None).await?;
        Ok(soap)
    }

    pub fn content(&self) -> &ServiceContent {
        &self.content
    }

    /// The session cookie, for the datastore's `/folder` HTTP endpoint, which takes the same
    /// session as the SOAP API.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.read().clone()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Logs in unless another call already did since `seen` (the cookie that failed).
    async fn log_in(&self, seen: Option<&str>) -> Result<(), DriverError> {
        let _one = self.login.lock().await;
        if self.cookie.read().as_deref() != seen {
            return Ok(());
        }
        let body = Xml::new().text("userName", &self.endpoint.user).text("password", &self.endpoint.password);
        let sm = self.content.session_manager.clone();
        let (reply, cookie) = post(&self.http, &self.endpoint.url, None, "Login", &sm, body).await?;
        match reply {
            Reply::Ok(_) => {}
            Reply::Fault(f) if f.kind == "InvalidLogin" => {
                return Err(DriverError::Rejected(format!(
                    "vCenter refused the login of {:?}: user name or password wrong",
                    self.endpoint.user
                )))
            }
            Reply::Fault(f) => return Err(f.into_driver_error("Login")),
        }
        let cookie = cookie.ok_or_else(|| DriverError::Failed("vCenter's Login set no session cookie".into()))?;
        *self.cookie.write() = Some(cookie);
        Ok(())
    }

    /// Calls `method` on `this`; returns the reply's `returnval` (or the response element when
    /// the method returns nothing).
    pub async fn call(&self, method: &str, this: &Mor, body: Xml) -> Result<Node, DriverError> {
        self.call_raw(method, this, body).await?.map_err(|f| f.into_driver_error(method))
    }

    /// Like [`call`](Self::call), with vCenter's fault handed back for the caller to judge (a
    /// `DuplicateName` that means an earlier attempt already made the object). An ended
    /// session is opened again once and the call repeated: every method here is either
    /// read-only or starts a task whose object the caller looks for by our id before starting
    /// it again.
    pub async fn call_raw(&self, method: &str, this: &Mor, body: Xml) -> Result<Result<Node, Fault>, DriverError> {
        for attempt in 0..2 {
            let cookie = self.cookie.read().clone();
            match post(&self.http, &self.endpoint.url, cookie.as_deref(), method, this, body.clone()).await?.0 {
                Reply::Ok(n) => return Ok(Ok(n)),
                Reply::Fault(f) if f.kind == "NotAuthenticated" && attempt == 0 => {
                    tracing::info!(url = %self.endpoint.url, "vCenter session ended; logging in again");
                    self.log_in(cookie.as_deref()).await?;
                }
                Reply::Fault(f) => return Ok(Err(f)),
            }
        }
        Err(DriverError::Failed(format!("{method}: vCenter kept refusing the session after a new login")))
    }
}

/// Posts one call; returns the reply and the session cookie it set, if any.
async fn post(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    method: &str,
    this: &Mor,
    body: Xml,
) -> Result<(Reply, Option<String>), DriverError> {
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soapenv:Body><{method} xmlns=\"urn:vim25\">{}</{method}></soapenv:Body></soapenv:Envelope>",
        Xml::new().mor("_this", this).into_string() + &body.into_string()
    );
    let mut req = http
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        // The oldest release whose calls this driver makes; newer vCenters answer it too.
        .header("SOAPAction", "\"urn:vim25/6.5\"")
        .body(envelope);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let resp = req.send().await.map_err(|e| transport_error(url, &e))?;
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.trim_start().starts_with(SESSION_COOKIE))
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_string());
    let text = resp.text().await.map_err(|e| transport_error(url, &e))?;
    if !status.is_success() && status.as_u16() != 500 {
        let snippet: String = text.chars().take(200).collect();
        let err = format!("{method}: vCenter answered HTTP {status}: {snippet}");
        return Err(if status.is_server_error() || status.as_u16() == 429 {
            DriverError::Transient(err)
        } else {
            DriverError::Failed(err)
        });
    }
    let doc = Node::parse(&text)?;
    let body = doc
        .child("Body")
        .and_then(|b| b.children.first())
        .ok_or_else(|| DriverError::Failed(format!("{method}: vCenter's reply has no SOAP body")))?;
    if body.name == "Fault" {
        let detail = body.child("detail").and_then(|d| d.children.first());
        let kind = detail
            .map(|d| d.xsi_type.clone().unwrap_or_else(|| d.name.trim_end_matches("Fault").to_string()))
            .unwrap_or_else(|| "Fault".into());
        let message = body.text_at(&["faultstring"]).unwrap_or_default().to_string();
        return Ok((Reply::Fault(Fault { kind, message }), set_cookie));
    }
    let out = body.child("returnval").cloned().unwrap_or_else(|| body.clone());
    Ok((Reply::Ok(out), set_cookie))
}

/// Names a refused certificate as such: it is the first thing an operator meets with a lab
/// vCenter, and reqwest's own message buries it.
fn transport_error(url: &str, e: &reqwest::Error) -> DriverError {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    if chain.contains("certificate") || chain.contains("UnknownIssuer") {
        return DriverError::Rejected(format!(
            "{url}: the vCenter's TLS certificate is not trusted ({chain}); give its CA, or --insecure to \
             accept a self-signed certificate"
        ));
    }
    DriverError::Transient(format!("{url}: {chain}"))
}

fn service_content(n: &Node) -> Result<ServiceContent, DriverError> {
    let mor = |name: &str| n.child(name).and_then(Node::as_mor);
    let need =
        |name: &str| mor(name).ok_or_else(|| DriverError::Failed(format!("vCenter's service content has no {name}")));
    let about = n.child("about").ok_or_else(|| DriverError::Failed("vCenter's service content has no about".into()))?;
    let text = |p: &str| about.text_at(&[p]).unwrap_or_default().to_string();
    Ok(ServiceContent {
        property_collector: need("propertyCollector")?,
        view_manager: need("viewManager")?,
        search_index: need("searchIndex")?,
        session_manager: need("sessionManager")?,
        file_manager: mor("fileManager"),
        virtual_disk_manager: mor("virtualDiskManager"),
        about: About {
            full_name: text("fullName"),
            version: text("version"),
            api_version: text("apiVersion"),
            api_type: text("apiType"),
        },
    })
}
