//! Prints the man page ocf_rust_VirtualDomain(7) (roff), generated from the
//! meta-data and doc/differences.md: `cargo run --release --example manpage`.

fn main() {
    print!("{}", virtualdomain::manpage::page());
}
