//! The agent's state files under HA_RSCTMP, whatever they hold (a crash
//! half-way, another version, a hand edit): the emulator cache read by the
//! process-table fallback, the remembered domain of the config guard, the
//! remembered utilization.
use std::path::PathBuf;
use std::sync::OnceLock;

use virtualdomain::cluster::utilization::decode;
use virtualdomain::guest::process::emulator_kind;
use virtualdomain::host::state_files;

fn rsctmp() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vd-fuzz-rsctmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary HA_RSCTMP");
        dir
    })
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let dir = rsctmp();
        let files = [
            state_files::emulator_cache(dir, "vm1"),
            state_files::remembered_domain(dir, "rsc1"),
            state_files::remembered_utilization(dir, "rsc1"),
        ];
        for file in &files {
            std::fs::write(file, data).expect("write the state file");
        }
        let _ = emulator_kind(dir, "vm1", None);
        let _ = state_files::read(&files[1]);
        if let Some(text) = state_files::read(&files[2]) {
            let _ = decode(&text);
        }
    });
}
