//! The `VirtualDomain` executable: see the library for everything.

fn main() -> std::process::ExitCode {
    virtualdomain::main_entry()
}
