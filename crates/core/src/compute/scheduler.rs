//! Placement: which cloud a server runs on. The scheduler keeps the clouds that answer to the
//! requested zone (the zone they are in, or their own name; Nova's `zone:host` names one
//! cloud of the zone), can boot the server's image (from the image's data
//! here, or from the cloud's own copy of it, an AMI) and have room for the flavor (with the usual
//! overcommit: 16 vCPUs and 1.5 MiB of RAM per physical one), and picks the project's own
//! cloud where it has one (a cloud dedicated to it: its own AWS account), then one that boots
//! the image without copying it first, then the one with the most free RAM. A cloud that keeps
//! images of its own (AWS) can take a local image: it is copied in (an AMI) at boot. Another project's own cloud is never considered. When none fits, the reason becomes Nova's "No valid host was found" fault.

use super::model::Server;
use super::Compute;
use crate::CoreError;

const CPU_RATIO: u64 = 16;
const RAM_RATIO_TENTHS: u64 = 15;

impl Compute {
    /// The cloud for `s`, or the fault message explaining why there is none.
    pub async fn choose_cloud(&self, s: &Server) -> Result<Result<String, String>, CoreError> {
        self.clouds.refresh().await?;
        let asked = s.requested_zone.as_deref().unwrap_or_default();
        let (zone, host) = asked.split_once(':').unwrap_or((asked, ""));
        let zone = Some(zone.to_string()).filter(|z| !z.is_empty());
        let fits = |cloud: &str| {
            zone.as_ref().is_none_or(|z| self.clouds.answers_to(cloud, z)) && (host.is_empty() || host == cloud)
        };
        let usage = self.store().server_usage_by_cloud().await?;
        let mut reasons = Vec::new();
        let mut best: Option<((bool, bool, u64), String)> = None;
        let placement = self.group_placement(s).await?;
        let image = match s.image_id.as_str() {
            "" => None,
            id => self.images.image_internal(id).await?,
        };
        let local_data = match &image {
            Some(i) => self.images.local_file(&i.id).await.is_some(),
            None => false,
        };
        let mut clouds = self.clouds.all();
        clouds.sort_by(|a, b| a.name.cmp(&b.name));
        if clouds.is_empty() {
            reasons.push("no cloud is registered (hybridstack cloud add …)".to_string());
        }
        for c in clouds {
            if !fits(&c.name) {
                continue;
            }
            // Another project's own cloud is not there for this one (and is not named).
            if !self.clouds.serves(&c.name, &s.project_id) {
                continue;
            }
            match &placement {
                Some((true, with)) if !with.contains(&c.name) => {
                    reasons.push(format!("cloud {} breaks the server group's affinity", c.name));
                    continue;
                }
                Some((false, apart)) if apart.contains(&c.name) => {
                    reasons.push(format!("cloud {} already runs a member of the server group (anti-affinity)", c.name));
                    continue;
                }
                _ => {}
            }
            // Whether the cloud boots the image as it is, or needs it copied in first (a
            // local image uploaded as an AMI at boot).
            let mut ready = true;
            if let Some(i) = &image {
                let own_copy = crate::images::cloud_images::location_on(i, &c.name).is_some();
                let from_file = local_data && c.compute.capabilities().image_files;
                let by_copy = local_data && c.images.is_some();
                if !(own_copy || from_file || by_copy) {
                    reasons.push(format!("cloud {} has no copy of image {} it can boot", c.name, i.id));
                    continue;
                }
                ready = own_copy || from_file;
            }
            let cap = match c.compute.capacity().await {
                Ok(cap) => cap,
                Err(e) => {
                    reasons.push(format!("cloud {} is unreachable: {e}", c.name));
                    continue;
                }
            };
            // The server itself is already counted in its own cloud's usage once placed.
            let (used_cpu, used_ram) =
                usage.iter().find(|(cloud, ..)| *cloud == c.name).map_or((0, 0), |(_, cpu, ram, _)| {
                    (u64::try_from(*cpu).unwrap_or(0), u64::try_from(*ram).unwrap_or(0))
                });
            let cpu_room = (cap.vcpus * CPU_RATIO).saturating_sub(used_cpu);
            let ram_room = (cap.memory_mb * RAM_RATIO_TENTHS / 10).saturating_sub(used_ram);
            if u64::from(s.flavor.vcpus) > cpu_room {
                reasons
                    .push(format!("cloud {} has {cpu_room} vCPUs free, the flavor needs {}", c.name, s.flavor.vcpus));
                continue;
            }
            if s.flavor.ram > ram_room {
                reasons.push(format!("cloud {} has {ram_room} MiB free, the flavor needs {}", c.name, s.flavor.ram));
                continue;
            }
            if s.flavor.disk > cap.free_disk_gb && cap.free_disk_gb > 0 {
                reasons.push(format!(
                    "cloud {} has {} GiB of disk free, the flavor needs {}",
                    c.name, cap.free_disk_gb, s.flavor.disk
                ));
                continue;
            }
            // The project's own clouds first (its own account), then the most free RAM.
            // A cloud that needs no image copy beats one that does.
            let rank = (self.clouds.dedicated_to(&c.name, &s.project_id), ready, ram_room);
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, c.name.clone()));
            }
        }
        for (name, why) in self.clouds.broken() {
            if !self.clouds.serves(&name, &s.project_id) {
                continue;
            }
            if fits(&name) {
                reasons.push(format!("cloud {name} cannot be opened: {why}"));
            }
        }
        if best.is_none() && !asked.is_empty() && reasons.is_empty() {
            reasons.push(format!("no cloud serves availability zone {asked}"));
        }
        Ok(match best {
            Some((_, name)) => Ok(name),
            None => Err(format!("No valid host was found. {}", reasons.join("; "))),
        })
    }
}
