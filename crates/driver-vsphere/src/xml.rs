//! vim25 message bodies: a writer for request parameters and an owned tree read back from a
//! response. vim25 is SOAP with polymorphic fields: a request names a subtype with
//! `xsi:type`, and a response is read by each element's local name and its `xsi:type`, never
//! by namespace prefix (vCenter and the simulator pick different prefixes).

use quick_xml::escape::escape;

use hybridstack_driver::DriverError;

/// A managed object reference: `<obj type="VirtualMachine">vm-42</obj>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mor {
    pub kind: String,
    pub value: String,
}

impl Mor {
    pub fn new(kind: &str, value: &str) -> Mor {
        Mor { kind: kind.into(), value: value.into() }
    }
}

/// The inner XML of a request element, built field by field in the WSDL's order (vim25
/// servers reject fields out of order).
#[derive(Debug, Default, Clone)]
pub struct Xml(String);

impl Xml {
    pub fn new() -> Xml {
        Xml::default()
    }

    pub fn text(mut self, name: &str, value: impl AsRef<str>) -> Xml {
        self.0.push_str(&format!("<{name}>{}</{name}>", escape(value.as_ref())));
        self
    }

    /// A value of a field declared as `anyType` (an `OptionValue`'s value): its type is named.
    pub fn typed_text(mut self, name: &str, xsi_type: &str, value: impl AsRef<str>) -> Xml {
        self.0.push_str(&format!("<{name} xsi:type=\"{xsi_type}\">{}</{name}>", escape(value.as_ref())));
        self
    }

    pub fn mor(mut self, name: &str, m: &Mor) -> Xml {
        self.0.push_str(&format!("<{name} type=\"{}\">{}</{name}>", escape(&m.kind), escape(&m.value)));
        self
    }

    pub fn node(mut self, name: &str, inner: Xml) -> Xml {
        self.0.push_str(&format!("<{name}>{}</{name}>", inner.0));
        self
    }

    /// The fields of `more`, after these.
    pub fn append(mut self, more: Xml) -> Xml {
        self.0.push_str(&more.0);
        self
    }

    /// One element per item of an array field.
    pub fn nodes(mut self, name: &str, items: Vec<Xml>) -> Xml {
        for i in items {
            self = self.node(name, i);
        }
        self
    }

    /// A field declared as a base type holding a subtype (`VirtualDeviceConfigSpec.device`
    /// holding a `VirtualDisk`).
    pub fn typed_node(mut self, name: &str, xsi_type: &str, inner: Xml) -> Xml {
        self.0.push_str(&format!("<{name} xsi:type=\"{xsi_type}\">{}</{name}>", inner.0));
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An element of a response, owned: its local name, `xsi:type` (local part), the `type`
/// attribute of a managed object reference, its text, and its child elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub xsi_type: Option<String>,
    pub mor_type: Option<String>,
    pub text: String,
    pub children: Vec<Node>,
}

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

impl Node {
    pub fn parse(xml: &str) -> Result<Node, DriverError> {
        let doc = roxmltree::Document::parse(xml)
            .map_err(|e| DriverError::Failed(format!("vCenter sent a reply that is not XML: {e}")))?;
        Ok(Node::from_element(doc.root_element()))
    }

    fn from_element(e: roxmltree::Node<'_, '_>) -> Node {
        let local = |v: &str| v.rsplit(':').next().unwrap_or(v).to_string();
        let children: Vec<Node> = e.children().filter(|c| c.is_element()).map(Node::from_element).collect();
        let text = if children.is_empty() { e.text().unwrap_or_default().to_string() } else { String::new() };
        Node {
            name: e.tag_name().name().to_string(),
            xsi_type: e.attribute((XSI, "type")).map(local),
            mor_type: e.attribute("type").map(str::to_string),
            text,
            children,
        }
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The descendant at a path of local names (`["summary", "hardware", "memorySize"]`).
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, p| n.child(p))
    }

    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|n| n.text.as_str())
    }

    pub fn u64_at(&self, path: &[&str]) -> Option<u64> {
        self.text_at(path).and_then(|t| t.trim().parse().ok())
    }

    /// This element read as a managed object reference.
    pub fn as_mor(&self) -> Option<Mor> {
        self.mor_type.as_ref().map(|k| Mor { kind: k.clone(), value: self.text.clone() })
    }

    /// The type a polymorphic element holds: its `xsi:type`, else its own name.
    pub fn kind(&self) -> &str {
        self.xsi_type.as_deref().unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_escape_text_and_name_subtypes() {
        let x = Xml::new()
            .text("name", "a<b & \"c\"")
            .mor("_this", &Mor::new("VirtualMachine", "vm-1"))
            .typed_node("device", "VirtualDisk", Xml::new().text("key", "-1"))
            .typed_text("value", "xsd:string", "x>y")
            .into_string();
        assert_eq!(
            x,
            "<name>a&lt;b &amp; &quot;c&quot;</name><_this type=\"VirtualMachine\">vm-1</_this>\
             <device xsi:type=\"VirtualDisk\"><key>-1</key></device><value xsi:type=\"xsd:string\">x&gt;y</value>"
        );
    }

    #[test]
    fn replies_are_read_by_local_name_and_xsi_type_whatever_the_prefixes() {
        let reply = r#"<?xml version="1.0"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:v="urn:vim25">
 <soapenv:Body><v:RetrievePropertiesExResponse><v:returnval>
  <v:objects><v:obj type="HostSystem">host-21</v:obj>
   <v:propSet><v:name>summary</v:name><v:val xsi:type="v:HostListSummary">
     <v:hardware><v:memorySize>4294430720</v:memorySize></v:hardware></v:val></v:propSet>
  </v:objects></v:returnval></v:RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>"#;
        let doc = Node::parse(reply).unwrap();
        let objects = doc.at(&["Body", "RetrievePropertiesExResponse", "returnval", "objects"]).unwrap();
        assert_eq!(objects.child("obj").and_then(Node::as_mor), Some(Mor::new("HostSystem", "host-21")));
        let val = objects.at(&["propSet", "val"]).unwrap();
        assert_eq!(val.kind(), "HostListSummary");
        assert_eq!(val.u64_at(&["hardware", "memorySize"]), Some(4294430720));
        assert!(Node::parse("<a><b></a>").is_err());
    }
}
