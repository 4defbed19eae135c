//! What the agent tells the cluster besides exit codes: the resource's
//! utilization attributes in the CIB ([`utilization`]), written only when
//! a figure changed.

pub mod utilization;
