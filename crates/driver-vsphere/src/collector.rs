//! Reading the inventory through the PropertyCollector: properties of given objects, or of
//! every object of a type under a container (through a ContainerView), following vCenter's
//! paging tokens (the simulator never pages; a real vCenter does past a few hundred objects).

use std::collections::HashMap;

use hybridstack_driver::DriverError;

use crate::soap::Soap;
use crate::xml::{Mor, Node, Xml};

/// One object's properties as read: property path to its `val` element.
#[derive(Debug, Clone)]
pub struct Object {
    pub obj: Mor,
    pub props: HashMap<String, Node>,
}

impl Object {
    pub fn prop(&self, path: &str) -> Option<&Node> {
        self.props.get(path)
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        self.prop(path).map(|n| n.text.as_str())
    }

    /// A property holding an array of references (`host`, `datastore`, `network`).
    pub fn mors(&self, path: &str) -> Vec<Mor> {
        self.prop(path).map(|n| n.children.iter().filter_map(Node::as_mor).collect()).unwrap_or_default()
    }

    pub fn mor(&self, path: &str) -> Option<Mor> {
        self.prop(path).and_then(Node::as_mor)
    }
}

/// Where to start: these objects themselves, or everything a ContainerView shows.
enum Start<'a> {
    Objects(&'a [Mor]),
    View(&'a Mor),
}

fn filter_spec(kind: &str, paths: &[&str], start: Start<'_>) -> Xml {
    let mut prop = Xml::new().text("type", kind).text("all", "false");
    for p in paths {
        prop = prop.text("pathSet", p);
    }
    let mut spec = Xml::new().node("propSet", prop);
    match start {
        Start::Objects(objs) => {
            for o in objs {
                spec = spec.node("objectSet", Xml::new().mor("obj", o).text("skip", "false"));
            }
        }
        Start::View(view) => {
            let traverse = Xml::new()
                .text("name", "view")
                .text("type", "ContainerView")
                .text("path", "view")
                .text("skip", "false");
            spec = spec.node(
                "objectSet",
                Xml::new().mor("obj", view).text("skip", "true").typed_node("selectSet", "TraversalSpec", traverse),
            );
        }
    }
    spec
}

fn objects_of(result: &Node, out: &mut Vec<Object>) {
    for o in result.all("objects") {
        let Some(obj) = o.child("obj").and_then(Node::as_mor) else { continue };
        let props = o
            .all("propSet")
            .filter_map(|p| Some((p.text_at(&["name"])?.to_string(), p.child("val")?.clone())))
            .collect();
        out.push(Object { obj, props });
    }
}

async fn retrieve(soap: &Soap, spec: Xml) -> Result<Vec<Object>, DriverError> {
    let pc = soap.content().property_collector.clone();
    let body = Xml::new().node("specSet", spec).node("options", Xml::new());
    let mut result = soap.call("RetrievePropertiesEx", &pc, body).await?;
    let mut out = Vec::new();
    loop {
        objects_of(&result, &mut out);
        let Some(token) = result.text_at(&["token"]).filter(|t| !t.is_empty()).map(str::to_string) else {
            return Ok(out);
        };
        result = soap.call("ContinueRetrievePropertiesEx", &pc, Xml::new().text("token", token)).await?;
    }
}

/// The given properties of these objects (all of one type). An object that no longer exists
/// is left out.
pub async fn properties(soap: &Soap, kind: &str, objs: &[Mor], paths: &[&str]) -> Result<Vec<Object>, DriverError> {
    if objs.is_empty() {
        return Ok(Vec::new());
    }
    retrieve(soap, filter_spec(kind, paths, Start::Objects(objs))).await
}

/// The given properties of one object.
pub async fn properties_of(soap: &Soap, obj: &Mor, paths: &[&str]) -> Result<Object, DriverError> {
    properties(soap, &obj.kind, std::slice::from_ref(obj), paths)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DriverError::NotFound(format!("{} {}", obj.kind, obj.value)))
}

/// The given properties of every object of `kind` under `container`, at any depth.
pub async fn all_of(soap: &Soap, container: &Mor, kind: &str, paths: &[&str]) -> Result<Vec<Object>, DriverError> {
    let vm = soap.content().view_manager.clone();
    let body = Xml::new().mor("container", container).text("type", kind).text("recursive", "true");
    let view = soap
        .call("CreateContainerView", &vm, body)
        .await?
        .as_mor()
        .ok_or_else(|| DriverError::Failed("CreateContainerView returned no view".into()))?;
    let found = retrieve(soap, filter_spec(kind, paths, Start::View(&view))).await;
    // A view left behind lives until the session ends; not worth failing a read over.
    let _ = soap.call("DestroyView", &view, Xml::new()).await;
    found
}

/// The object at an inventory path (`DC/host/Cluster`), if there is one.
pub async fn by_path(soap: &Soap, path: &str) -> Result<Option<Mor>, DriverError> {
    let si = soap.content().search_index.clone();
    let found = soap.call("FindByInventoryPath", &si, Xml::new().text("inventoryPath", path)).await?;
    Ok(found.as_mor())
}
