//! The account's capacity in the region from Service Quotas: EC2 limits the vCPUs of running
//! On-Demand instances per instance family group (quota L-1216C47A covers the standard
//! families A, C, D, H, I, M, R, T, Z). Where the quota cannot be read (an endpoint without
//! Service Quotas, as the moto server, or a role without `servicequotas:GetServiceQuota`), the
//! limit given at `cloud add` is used, and the log says so. The value is kept for five
//! minutes: quotas change by request to AWS, not from one server create to the next.

use std::time::{Duration, Instant};

use crate::AwsCloud;

const STANDARD_VCPUS: &str = "L-1216C47A";
const KEEP: Duration = Duration::from_secs(300);

impl AwsCloud {
    pub(crate) async fn vcpu_quota(&self) -> u64 {
        if let Some((at, v)) = *self.quota.lock() {
            if at.elapsed() < KEEP {
                return v;
            }
        }
        let read = self.quotas.get_service_quota().service_code("ec2").quota_code(STANDARD_VCPUS).send().await;
        let v = match read {
            Ok(out) => match out.quota().and_then(|q| q.value()) {
                Some(v) if v >= 0.0 => v as u64,
                _ => self.cfg.vcpu_limit,
            },
            Err(e) => {
                tracing::info!(
                    cloud = %self.name,
                    "the vCPU quota could not be read from Service Quotas ({}); using the registered {}",
                    aws_sdk_servicequotas::error::DisplayErrorContext(&e),
                    self.cfg.vcpu_limit
                );
                self.cfg.vcpu_limit
            }
        };
        *self.quota.lock() = Some((Instant::now(), v));
        v
    }
}
