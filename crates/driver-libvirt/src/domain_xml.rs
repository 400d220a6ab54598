//! Domain and volume XML. Written by hand with escaping because libvirt's XML is the API:
//! there is no maintained Rust crate for libvirt's schemas, and what we emit is small.

use hybridstack_driver::ServerSpec;

use crate::marks::Marks;

pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

pub(crate) fn domain_name(id: &str) -> String {
    format!("hs-{id}")
}

pub(crate) fn network_name(id: &str) -> String {
    format!("hs-net-{id}")
}

/// What the domain's devices point at, resolved in the pool.
pub(crate) struct DomainFiles {
    pub disk: String,
    /// The root disk is a block-storage volume (it then has a serial, the volume id).
    pub root_volume: Option<String>,
    /// Attached volumes, as `<disk>` elements.
    pub volumes: Vec<String>,
    /// The config drive, attached read-only as the second disk.
    pub config: Option<String>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub console_log: String,
}

/// The domain of a server; the marks in its metadata make it this cloud's of this
/// installation (several clouds, or control planes, may share one libvirt host).
pub(crate) fn domain(spec: &ServerSpec, marks: &Marks, domain_type: &str, files: &DomainFiles) -> String {
    let boot = match &files.kernel {
        Some(k) => {
            let initrd = files.initrd.as_ref().map(|i| format!("<initrd>{}</initrd>", esc(i))).unwrap_or_default();
            let cmdline =
                spec.kernel_cmdline.clone().unwrap_or_else(|| "root=/dev/vda console=tty0 console=ttyS0".into());
            format!("<kernel>{}</kernel>{initrd}<cmdline>{}</cmdline>", esc(k), esc(&cmdline))
        }
        None => "<boot dev='hd'/>".into(),
    };
    let config = files
        .config
        .as_ref()
        .map(|c| {
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/>\
<target dev='vdb' bus='virtio'/><readonly/></disk>",
                esc(c)
            )
        })
        .unwrap_or_default();
    let root = match &files.root_volume {
        Some(v) => crate::block::disk_xml(&files.disk, "vda", v),
        None => format!(
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/>\
<target dev='vda' bus='virtio'/></disk>",
            esc(&files.disk)
        ),
    };
    let volumes = files.volumes.concat();
    let nics: String = spec
        .nics
        .iter()
        .map(|n| {
            format!(
                "<interface type='network'><mac address='{}'/><source network='{}'/><model type='virtio'/>\
<filterref filter='{}'/></interface>",
                esc(&n.mac_address),
                esc(&network_name(&n.network_id)),
                esc(&marks.port_filter(&n.port_id))
            )
        })
        .collect();
    format!(
        "<domain type='{dt}'>\
<name>{name}</name><uuid>{id}</uuid><title>{title}</title>\
<metadata><hs:server xmlns:hs='{ns}'><hs:id>{id}</hs:id>{marks}</hs:server></metadata>\
<memory unit='MiB'>{ram}</memory><vcpu>{vcpus}</vcpu>\
<os><type arch='x86_64' machine='pc'>hvm</type>{boot}</os>\
<features><acpi/><apic/></features>\
<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>\
<devices>\
{root}{config}{volumes}{nics}\
<serial type='file'><source path='{log}' append='on'/><target port='0'/></serial>\
<console type='file'><source path='{log}' append='on'/><target type='serial' port='0'/></console>\
<memballoon model='none'/>\
</devices></domain>",
        dt = esc(domain_type),
        name = esc(&domain_name(&spec.id)),
        id = esc(&spec.id),
        title = esc(&spec.name),
        marks = marks.metadata(),
        ns = crate::marks::SERVER_NS,
        ram = spec.ram_mb,
        vcpus = spec.vcpus,
        log = esc(&files.console_log),
    )
}

pub(crate) fn volume(name: &str, format: &str, capacity: u64, backing: Option<(&str, &str)>) -> String {
    let backing = backing
        .map(|(path, fmt)| {
            format!("<backingStore><path>{}</path><format type='{}'/></backingStore>", esc(path), esc(fmt))
        })
        .unwrap_or_default();
    format!(
        "<volume><name>{}</name><capacity unit='bytes'>{capacity}</capacity>\
<target><format type='{}'/></target>{backing}</volume>",
        esc(name),
        esc(format)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_names() {
        assert_eq!(esc("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
        let v = volume("x'y", "qcow2", 10, Some(("/p/<i>", "raw")));
        assert!(v.contains("x&apos;y"));
        assert!(v.contains("/p/&lt;i&gt;"));
    }
}
