//! The `VirtualDomain` executable: see the library for everything.

// libvirt is loaded on first use, not at exec (controller::libvirt::dynload).
virtualdomain::export_libvirt_shims!();

fn main() {
    virtualdomain::main_entry()
}
