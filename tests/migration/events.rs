//! The guest's lifecycle events on one lab host, as `virsh event` prints
//! them: when a migration paused and stopped the guest on the source.

use super::*;

/// Lifecycle events of the guest on one host, written to a file by
/// `virsh event --loop --timestamp` running on that host.
pub(super) struct Events {
    file: PathBuf,
    child: Child,
}

impl Events {
    pub(super) fn watch(lab: &MultiLab, host: usize, secs: u64) -> Events {
        let file = lab.dir.join(format!("events-n{host}.txt"));
        let _ = std::fs::remove_file(&file);
        let cmd = format!(
            "exec virsh -q -c qemu:///system event --domain {NAME} --event lifecycle \
             --loop --timeout {secs} --timestamp > {}",
            file.display()
        );
        let child = Command::new("timeout")
            .args(["-s", "KILL", &(secs + 10).to_string(), "bash"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/multihost/hosts-exec.sh"))
            .arg(&lab.dir)
            .arg(host.to_string())
            .args(["sh", "-c", &cmd])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("virsh event");
        // virsh has registered for events once it runs; give it a moment
        std::thread::sleep(Duration::from_millis(700));
        Events { file, child }
    }

    /// (seconds since the epoch, event text) of the events seen so far,
    /// waiting at most `secs` for one containing `until`.
    pub(super) fn read(&self, until: &str, secs: u64) -> Vec<(f64, String)> {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = std::fs::read_to_string(&self.file).unwrap_or_default();
            if text.contains(until) || Instant::now() > end {
                return text
                    .lines()
                    .filter_map(|l| {
                        let (stamp, rest) = l.split_once(": event 'lifecycle'")?;
                        let what = rest.rsplit(": ").next()?.trim().to_string();
                        Some((event_time(stamp)?, what))
                    })
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        // virsh itself ends at its --timeout (or with the lab)
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
