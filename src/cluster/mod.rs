//! What the agent tells the cluster besides exit codes: the resource's
//! utilization attributes in the CIB ([`utilization`]), written only when
//! a figure changed, through Pacemaker's libcib ([`libcib`], [`cib_write`])
//! or, without it, `crm_resource` ([`crm_resource`]); an offline CIB is
//! first read as a file ([`cib_file`]), libcib loaded only for a change.

pub mod attribute;
pub mod cib_file;
pub mod cib_write;
pub mod crm_resource;
pub mod libcib;
pub mod utilization;
