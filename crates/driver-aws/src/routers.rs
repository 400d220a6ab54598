//! Routers as internet gateways and route tables. Every network is its own VPC and an
//! internet gateway serves one VPC, so a router with an external gateway becomes one internet
//! gateway per network it has an interface on, each with a route table sending 0.0.0.0/0 to
//! it, associated with the router's subnets there. Several networks on one router therefore
//! each reach the internet; subnets the router has no interface on keep the VPC's main table
//! (no way out), as in Neutron. All are tagged with the router's and the network's ids.

use aws_sdk_ec2::types::{Filter, InternetGateway, ResourceType, RouteTable, TagSpecification};
use hybridstack_driver::{DriverError, RouterInterface, RouterSpec};

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_KIND, TAG_NETWORK};

pub(crate) const ROUTER: &str = "router";

fn gone_ok(r: Result<(), DriverError>) -> Result<(), DriverError> {
    match r {
        Err(DriverError::NotFound(_)) => Ok(()),
        other => other,
    }
}

impl AwsCloud {
    fn of_network(network_id: &str) -> Filter {
        Filter::builder().name(format!("tag:{TAG_NETWORK}")).values(network_id).build()
    }

    async fn gateways(&self, mut filters: Vec<Filter>) -> Result<Vec<InternetGateway>, DriverError> {
        filters.extend(self.mine());
        filters.push(Filter::builder().name(format!("tag:{TAG_KIND}")).values(ROUTER).build());
        let out = self
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| aws("listing internet gateways", e))?;
        Ok(out.internet_gateways().to_vec())
    }

    async fn route_tables(&self, mut filters: Vec<Filter>) -> Result<Vec<RouteTable>, DriverError> {
        filters.extend(self.mine());
        filters.push(Filter::builder().name(format!("tag:{TAG_KIND}")).values(ROUTER).build());
        let out = self
            .ec2
            .describe_route_tables()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| aws("listing route tables", e))?;
        Ok(out.route_tables().to_vec())
    }

    /// The internet gateway of a router on one network, made and attached when missing; the
    /// VPC must not be routed out by another router's gateway (AWS takes one per VPC).
    async fn gateway_for(&self, router_id: &str, network_id: &str, vpc_id: &str) -> Result<String, DriverError> {
        let attached = self
            .ec2
            .describe_internet_gateways()
            .filters(Filter::builder().name("attachment.vpc-id").values(vpc_id).build())
            .send()
            .await
            .map_err(|e| aws("listing the VPC's internet gateways", e))?;
        for g in attached.internet_gateways() {
            if tag_value(g.tags(), crate::TAG_ID).as_deref() != Some(router_id) {
                return Err(DriverError::Rejected(format!(
                    "network {network_id} already reaches the internet through another gateway ({}); an AWS VPC takes one",
                    g.internet_gateway_id().unwrap_or_default()
                )));
            }
        }
        let mine =
            self.gateways(vec![crate::tag_filter(crate::TAG_ID, router_id), Self::of_network(network_id)]).await?;
        let igw = match mine.first() {
            Some(g) => g.clone(),
            None => {
                let out = self
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(router_tags(self, ResourceType::InternetGateway, router_id, network_id))
                    .send()
                    .await
                    .map_err(|e| aws("creating an internet gateway", e))?;
                out.internet_gateway().cloned().ok_or_else(|| DriverError::Failed("no internet gateway made".into()))?
            }
        };
        let igw_id = igw.internet_gateway_id().unwrap_or_default().to_string();
        if !igw.attachments().iter().any(|a| a.vpc_id() == Some(vpc_id)) {
            self.ec2
                .attach_internet_gateway()
                .internet_gateway_id(&igw_id)
                .vpc_id(vpc_id)
                .send()
                .await
                .map_err(|e| aws("attaching the internet gateway", e))?;
        }
        Ok(igw_id)
    }

    /// The router's route table on a network: the default route to `igw`, associated with
    /// exactly the router's subnets there.
    async fn table_for(
        &self,
        router_id: &str,
        network_id: &str,
        vpc_id: &str,
        igw: &str,
        subnets: &[String],
    ) -> Result<(), DriverError> {
        let mine =
            self.route_tables(vec![crate::tag_filter(crate::TAG_ID, router_id), Self::of_network(network_id)]).await?;
        let table = match mine.first() {
            Some(t) => t.clone(),
            None => {
                let out = self
                    .ec2
                    .create_route_table()
                    .vpc_id(vpc_id)
                    .tag_specifications(router_tags(self, ResourceType::RouteTable, router_id, network_id))
                    .send()
                    .await
                    .map_err(|e| aws("creating a route table", e))?;
                out.route_table().cloned().ok_or_else(|| DriverError::Failed("no route table made".into()))?
            }
        };
        let table_id = table.route_table_id().unwrap_or_default().to_string();
        if !table
            .routes()
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0") && r.gateway_id() == Some(igw))
        {
            self.ec2
                .create_route()
                .route_table_id(&table_id)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(igw)
                .send()
                .await
                .map_err(|e| aws("adding the default route", e))?;
        }
        for a in table.associations() {
            if a.subnet_id().is_some_and(|s| !subnets.iter().any(|w| w == s)) {
                self.disassociate(a.route_table_association_id()).await?;
            }
        }
        for s in subnets {
            if table.associations().iter().any(|a| a.subnet_id() == Some(s.as_str())) {
                continue;
            }
            // A subnet has one table: it leaves the one it had (the main table's is implicit).
            let current = self
                .ec2
                .describe_route_tables()
                .filters(Filter::builder().name("association.subnet-id").values(s).build())
                .send()
                .await
                .map_err(|e| aws("finding a subnet's route table", e))?;
            for t in current.route_tables() {
                for a in t.associations().iter().filter(|a| a.subnet_id() == Some(s.as_str())) {
                    self.disassociate(a.route_table_association_id()).await?;
                }
            }
            self.ec2
                .associate_route_table()
                .route_table_id(&table_id)
                .subnet_id(s)
                .send()
                .await
                .map_err(|e| aws("associating the route table", e))?;
        }
        Ok(())
    }

    async fn disassociate(&self, id: Option<&str>) -> Result<(), DriverError> {
        let Some(id) = id else { return Ok(()) };
        gone_ok(
            self.ec2
                .disassociate_route_table()
                .association_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws("disassociating a route table", e)),
        )
    }

    pub(crate) async fn ensure_gateways(&self, r: &RouterSpec) -> Result<String, DriverError> {
        let _held = self.lock(format!("router:{}", r.id)).await;
        let mut wanted: Vec<String> = Vec::new();
        if r.gateway.is_some() {
            let mut by_network: std::collections::BTreeMap<&str, Vec<&RouterInterface>> = Default::default();
            for i in &r.interfaces {
                by_network.entry(i.network_id.as_str()).or_default().push(i);
            }
            for (network_id, interfaces) in by_network {
                let vpc_id = self.vpc_id(network_id).await?;
                let mut subnets = Vec::new();
                for i in interfaces {
                    subnets.push(self.aws_subnet(&i.subnet_id).await?.subnet_id().unwrap_or_default().to_string());
                }
                let igw = self.gateway_for(&r.id, network_id, &vpc_id).await?;
                self.table_for(&r.id, network_id, &vpc_id, &igw, &subnets).await?;
                wanted.push(network_id.to_string());
            }
        }
        // What the router no longer reaches (an interface removed, the gateway cleared).
        for t in self.route_tables(vec![crate::tag_filter(crate::TAG_ID, &r.id)]).await? {
            if !tag_value(t.tags(), TAG_NETWORK).is_some_and(|n| wanted.contains(&n)) {
                self.remove_table(&t).await?;
            }
        }
        for g in self.gateways(vec![crate::tag_filter(crate::TAG_ID, &r.id)]).await? {
            if !tag_value(g.tags(), TAG_NETWORK).is_some_and(|n| wanted.contains(&n)) {
                self.remove_gateway(&g).await?;
            }
        }
        Ok(r.id.clone())
    }

    async fn remove_table(&self, t: &RouteTable) -> Result<(), DriverError> {
        for a in t.associations() {
            self.disassociate(a.route_table_association_id()).await?;
        }
        gone_ok(
            self.ec2
                .delete_route_table()
                .route_table_id(t.route_table_id().unwrap_or_default())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws("deleting a route table", e)),
        )
    }

    async fn remove_gateway(&self, g: &InternetGateway) -> Result<(), DriverError> {
        let id = g.internet_gateway_id().unwrap_or_default();
        for a in g.attachments() {
            if let Some(vpc) = a.vpc_id() {
                gone_ok(
                    self.ec2
                        .detach_internet_gateway()
                        .internet_gateway_id(id)
                        .vpc_id(vpc)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| aws("detaching an internet gateway", e)),
                )?;
            }
        }
        gone_ok(
            self.ec2
                .delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws("deleting an internet gateway", e)),
        )
    }

    /// Removes the router's tables and gateways: all of them, or (`router` `None`) those of
    /// any router in one VPC, before the VPC goes.
    pub(crate) async fn remove_gateways_of(&self, vpc_id: &str, router: Option<&str>) -> Result<(), DriverError> {
        let by_router = |r: Option<&str>| r.map(|r| crate::tag_filter(crate::TAG_ID, r));
        let mut tf = vec![Filter::builder().name("vpc-id").values(vpc_id).build()];
        tf.extend(by_router(router));
        for t in self.route_tables(tf).await? {
            self.remove_table(&t).await?;
        }
        let mut gf = vec![Filter::builder().name("attachment.vpc-id").values(vpc_id).build()];
        gf.extend(by_router(router));
        for g in self.gateways(gf).await? {
            self.remove_gateway(&g).await?;
        }
        Ok(())
    }

    pub(crate) async fn delete_gateways(&self, router_id: &str) -> Result<(), DriverError> {
        let _held = self.lock(format!("router:{router_id}")).await;
        for t in self.route_tables(vec![crate::tag_filter(crate::TAG_ID, router_id)]).await? {
            self.remove_table(&t).await?;
        }
        for g in self.gateways(vec![crate::tag_filter(crate::TAG_ID, router_id)]).await? {
            self.remove_gateway(&g).await?;
        }
        Ok(())
    }

    /// Our routers realised here, by id.
    pub(crate) async fn owned_routers(&self) -> Result<Vec<String>, DriverError> {
        let mut out: Vec<String> = Vec::new();
        for g in self.gateways(vec![]).await? {
            if let Some(id) = tag_value(g.tags(), crate::TAG_ID) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    /// The router's internet gateway on a network, if it has one.
    pub(crate) async fn gateway_of(&self, router_id: &str, network_id: &str) -> Result<Option<String>, DriverError> {
        Ok(self
            .gateways(vec![crate::tag_filter(crate::TAG_ID, router_id), Self::of_network(network_id)])
            .await?
            .first()
            .and_then(|g| g.internet_gateway_id().map(str::to_string)))
    }
}

/// The tags of what a router makes on one of its networks (its gateway, its route table).
fn router_tags(cloud: &AwsCloud, kind: ResourceType, router_id: &str, network_id: &str) -> TagSpecification {
    cloud.tag_spec(kind, router_id, ROUTER, router_id, &[(TAG_NETWORK, network_id)])
}
