//! Files on the cloud's datastore: read and written over vCenter's `/folder` HTTP endpoint
//! (with the SOAP session's cookie, which that endpoint takes), directories made and files
//! removed through the FileManager, as Nova's vmwareapi driver does for its image cache.

use hybridstack_driver::DriverError;

use crate::xml::Xml;
use crate::VsphereCloud;

/// `[ds] a/b.vmdk` → `a/b.vmdk`, refusing a path on another datastore.
fn relative<'a>(c: &VsphereCloud, ds_path: &'a str) -> Result<&'a str, DriverError> {
    let prefix = format!("[{}] ", c.place.datastore_name);
    ds_path
        .strip_prefix(&prefix)
        .ok_or_else(|| DriverError::Rejected(format!("{ds_path} is not on datastore {}", c.place.datastore_name)))
}

fn folder_url(c: &VsphereCloud, rel: &str) -> Result<reqwest::Url, DriverError> {
    let mut url = reqwest::Url::parse(&c.cfg.url).map_err(|e| DriverError::Rejected(format!("{}: {e}", c.cfg.url)))?;
    {
        let mut segs =
            url.path_segments_mut().map_err(|_| DriverError::Rejected(format!("{} has no path", c.cfg.url)))?;
        segs.clear().push("folder");
        for s in rel.split('/').filter(|s| !s.is_empty()) {
            segs.push(s);
        }
    }
    url.query_pairs_mut().clear().append_pair("dcPath", &c.cfg.datacenter).append_pair("dsName", &c.cfg.datastore);
    Ok(url)
}

fn request(c: &VsphereCloud, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
    let r = c.soap.http().request(method, url);
    match c.soap.cookie() {
        Some(cookie) => r.header("Cookie", cookie),
        None => r,
    }
}

fn http_error(doing: &str, e: reqwest::Error) -> DriverError {
    DriverError::Transient(format!("{doing}: {e}"))
}

/// A small text file (a VMDK descriptor).
pub async fn get_text(c: &VsphereCloud, ds_path: &str) -> Result<String, DriverError> {
    let url = folder_url(c, relative(c, ds_path)?)?;
    let resp = request(c, reqwest::Method::GET, url).send().await.map_err(|e| http_error(ds_path, e))?;
    match resp.status().as_u16() {
        200 => resp.text().await.map_err(|e| http_error(ds_path, e)),
        404 => Err(DriverError::NotFound(format!("{ds_path} on the datastore"))),
        s => Err(DriverError::Failed(format!("reading {ds_path}: the datastore answered HTTP {s}"))),
    }
}

/// Writes a local file to the datastore, streamed.
pub async fn put_file(c: &VsphereCloud, ds_path: &str, local: &std::path::Path) -> Result<(), DriverError> {
    let url = folder_url(c, relative(c, ds_path)?)?;
    let f = tokio::fs::File::open(local)
        .await
        .map_err(|e| DriverError::Failed(format!("cannot open {}: {e}", local.display())))?;
    let len = f.metadata().await.map_err(|e| DriverError::Failed(format!("{}: {e}", local.display())))?.len();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(f));
    let resp = request(c, reqwest::Method::PUT, url)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", len)
        .body(body)
        .send()
        .await
        .map_err(|e| http_error(ds_path, e))?;
    if !resp.status().is_success() {
        return Err(DriverError::Failed(format!("writing {ds_path}: the datastore answered HTTP {}", resp.status())));
    }
    Ok(())
}

/// Makes a directory and its parents; one that exists already is fine.
pub async fn make_directory(c: &VsphereCloud, ds_path: &str) -> Result<(), DriverError> {
    let fm = file_manager(c)?;
    let body =
        Xml::new().text("name", ds_path).mor("datacenter", &c.place.datacenter).text("createParentDirectories", "true");
    match c.soap.call_raw("MakeDirectory", &fm, body).await? {
        Ok(_) => Ok(()),
        Err(f) if f.kind == "FileAlreadyExists" => Ok(()),
        Err(f) => Err(f.into_driver_error("MakeDirectory")),
    }
}

/// Removes a file or a directory with everything in it; one already gone is fine.
pub async fn delete(c: &VsphereCloud, ds_path: &str) -> Result<(), DriverError> {
    let fm = file_manager(c)?;
    let body = Xml::new().text("name", ds_path).mor("datacenter", &c.place.datacenter);
    match c.task(&fm, "DeleteDatastoreFile_Task", body, "delete a datastore file").await {
        Ok(_) | Err(DriverError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The names of the VMDKs in a directory (a descriptor's name; the `-flat` extents a
/// simulator lists beside it are left out, as vCenter shows the two as one). A directory that
/// does not exist holds none.
pub async fn vmdks_in(c: &VsphereCloud, dir: &str) -> Result<Vec<String>, DriverError> {
    let browser = crate::collector::properties_of(&c.soap, &c.place.datastore, &["browser"])
        .await?
        .mor("browser")
        .ok_or_else(|| DriverError::Failed("the datastore has no browser".into()))?;
    let spec = Xml::new().text("matchPattern", "*.vmdk");
    let body = Xml::new().text("datastorePath", dir).node("searchSpec", spec);
    let found = match c.task(&browser, "SearchDatastore_Task", body, "list a datastore directory").await {
        Ok(found) => found,
        Err(DriverError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(found
        .map(|r| {
            r.all("file")
                .filter_map(|f| f.text_at(&["path"]).map(str::to_string))
                .filter(|n| !n.ends_with("-flat.vmdk"))
                .collect()
        })
        .unwrap_or_default())
}

/// Downloads a file to a local path, streamed.
pub async fn get_file(c: &VsphereCloud, ds_path: &str, local: &std::path::Path) -> Result<(), DriverError> {
    use tokio::io::AsyncWriteExt;
    let url = folder_url(c, relative(c, ds_path)?)?;
    let mut resp = request(c, reqwest::Method::GET, url).send().await.map_err(|e| http_error(ds_path, e))?;
    match resp.status().as_u16() {
        200 => {}
        404 => return Err(DriverError::NotFound(format!("{ds_path} on the datastore"))),
        s => return Err(DriverError::Failed(format!("reading {ds_path}: the datastore answered HTTP {s}"))),
    }
    let mut f = tokio::fs::File::create(local)
        .await
        .map_err(|e| DriverError::Failed(format!("cannot write {}: {e}", local.display())))?;
    while let Some(chunk) = resp.chunk().await.map_err(|e| http_error(ds_path, e))? {
        f.write_all(&chunk).await.map_err(|e| DriverError::Failed(format!("{}: {e}", local.display())))?;
    }
    f.flush().await.map_err(|e| DriverError::Failed(format!("{}: {e}", local.display())))
}

fn file_manager(c: &VsphereCloud) -> Result<crate::xml::Mor, DriverError> {
    c.soap
        .content()
        .file_manager
        .clone()
        .ok_or_else(|| DriverError::NotSupported("this endpoint has no FileManager".into()))
}

/// The sectors a VMDK descriptor's extents add up to (`RW 2097152 FLAT "x-flat.vmdk" 0`).
pub fn descriptor_sectors(descriptor: &str) -> Option<u64> {
    let sectors: Vec<u64> = descriptor
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("RW ") || l.starts_with("RDONLY ") || l.starts_with("NOACCESS "))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    (!sectors.is_empty()).then(|| sectors.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::descriptor_sectors;

    #[test]
    fn extents_are_summed_and_other_lines_ignored() {
        let d = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n\n# Extent description\n\
                 RW 2048 FLAT \"a-flat.vmdk\" 0\nRW 1024 FLAT \"b-flat.vmdk\" 0\n\nddb.virtualHWVersion = \"4\"\n";
        assert_eq!(descriptor_sectors(d), Some(3072));
        assert_eq!(descriptor_sectors("not a descriptor"), None);
    }
}
