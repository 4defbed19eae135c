//! Scenario k (ours only), upstream issue #1231: the migration target
//! cannot read the config (its shared mount is missing) and remembers
//! nothing (its HA_RSCTMP wiped before each run). The guest carries the
//! resource tag the start on n1 wrote; on n2 the agent runs with a config
//! path that does not exist there (the hosts share /srv, so hiding the real
//! file would hide it on n1 too): migrate_from, probe and monitor find the
//! guest by its tag and answer 0, migrate_to moves it back to n1 (the chaos
//! campaign's config_empty fault: it answered 5, so Pacemaker stopped the
//! guest and banned the node instead), and a stop on n1, its config hidden
//! there too, stops it and answers 0.

use super::*;

/// Where n2's agent is told the config is: nowhere.
fn missing_config() -> String {
    format!("{DIR}/not-mounted/{NAME}.xml")
}

impl Pass<'_> {
    /// Forgets what the agent on nI remembered (execd's HA_RSCTMP).
    fn wipe_rsctmp(&mut self, host: usize) {
        let (ok, out) = self
            .lab
            .exec(host, &["sh", "-c", "rm -f /run/resource-agents/*"]);
        self.check(ok, format!("k: wiping HA_RSCTMP on n{host}: {out}"));
    }

    pub(super) fn config_unreadable_on_target(&mut self) {
        const LATER: [&str; 6] = [
            "k migrate_from n2, config unreadable",
            "k probe n2, config unreadable",
            "k monitor n2, config unreadable",
            "k migrate_to n2->n1, config unreadable",
            "k migrate_from n1",
            "k stop n1, config unreadable",
        ];
        self.lab.destroy_everywhere(NAME);
        self.wipe_rsctmp(2);
        let start = self.step("k start n1", 1, "start", T_START, &[]);
        let Some((boot, tick)) = (start.code == 0)
            .then(|| self.lab.live_tick(1, NAME, 90))
            .flatten()
        else {
            self.check(
                false,
                "k: the guest started by the agent does not tick on n1",
            );
            return;
        };
        let mut params = Self::migrate_params("n1", "n2");
        let to = self.step(
            "k migrate_to n1->n2",
            1,
            "migrate_to",
            T_MIGRATE_TO,
            &params,
        );
        if to.code != 0 {
            LATER
                .iter()
                .for_each(|s| self.not_run(s, "migrate_to failed"));
            return;
        }
        let missing = missing_config();
        params.push(("config", &missing));
        self.step(LATER[0], 2, "migrate_from", T_MIGRATE_FROM, &params);
        let moved = self.lab.tick_after(2, NAME, &boot, tick, 15).is_some();
        self.check(moved, format!("k: no tick of boot {boot} on n2"));
        let (_, xml) = self.lab.virsh(2, &["dumpxml", NAME]);
        self.check(
            xml.contains("http://ocf-rust-virtualdomain/resource/1")
                && xml.contains("instance=\"vm\""),
            "k: the tag did not travel with the guest to n2",
        );
        let hidden = [("config", missing.as_str())];
        let recurring = [("config", missing.as_str()), ("CRM_meta_interval", "10000")];
        self.wipe_rsctmp(2);
        self.step(LATER[1], 2, "monitor", T_MONITOR, &hidden);
        self.wipe_rsctmp(2);
        self.step(LATER[2], 2, "monitor", T_MONITOR, &recurring);
        self.wipe_rsctmp(2);
        let mut back = Self::migrate_params("n2", "n1");
        back.push(("config", &missing));
        let to = self.step(LATER[3], 2, "migrate_to", T_MIGRATE_TO, &back);
        if to.code != 0 {
            LATER[4..]
                .iter()
                .for_each(|s| self.not_run(s, "migrate_to back failed"));
            self.lab.destroy_everywhere(NAME);
            return;
        }
        self.step(
            LATER[4],
            1,
            "migrate_from",
            T_MIGRATE_FROM,
            &Self::migrate_params("n2", "n1"),
        );
        let back_on_n1 = self.lab.tick_after(1, NAME, &boot, tick, 15).is_some();
        self.check(
            back_on_n1,
            format!("k: no tick of boot {boot} on n1 after the way back"),
        );
        self.wipe_rsctmp(1);
        self.step(LATER[5], 1, "stop", T_STOP, &hidden);
        let state = self.lab.state(1, NAME);
        self.check(
            state.is_empty() || state == "shut off",
            format!("k: the stop left the guest {state:?} on n1"),
        );
        self.lab.destroy_everywhere(NAME);
    }
}
