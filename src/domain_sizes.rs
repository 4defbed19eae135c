//! The guest's size as libvirt reads it from a domain XML: the current vCPU
//! count and the maximum memory, for the utilization of a domain that is
//! not running here (libvirt cannot be asked for figures of a transient
//! domain it does not know; Pacemaker's placement needs them before the
//! first start).
//!
//! The rules are libvirt's (`virDomainVcpuParse`, `virDomainParseMemory`,
//! `virScaleInteger`, `virStrToLong_ullp`), so a config gives the figures
//! `virsh dominfo` shows once it is defined: `<vcpu current='N'>M</vcpu>`
//! is N (M without `current`; no `<vcpu>`: 1); `<memory>` is scaled by its
//! `unit` (none: KiB; `b`/`bytes`; `k`, `KiB` ×1024; `KB` ×1000; likewise
//! M, G, T, P, E; case-insensitive) to bytes, then to KiB rounded up. What
//! libvirt would refuse gives no figure, with the reason.

use crate::domain_xml::DomainConfig;

/// libvirt's limit for memory in bytes on 64-bit hosts (`LLONG_MAX`).
const MAX_BYTES: u64 = i64::MAX as u64;

/// `virStrToLong_ullp(s, NULL, 10, …)`: C whitespace and a `+` may lead,
/// then decimal digits up to the end; no sign `-`, no overflow.
fn c_unsigned(text: &str) -> Option<u64> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The current vCPU count libvirt would report for this config.
pub fn vcpus(cfg: &DomainConfig) -> Result<u32, String> {
    let Some(vcpu) = &cfg.vcpu else {
        return Ok(1);
    };
    let max = c_unsigned(&vcpu.text)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("<vcpu> {:?} is not a vCPU count", vcpu.text))?;
    let Some(current) = &vcpu.attr else {
        return Ok(max);
    };
    let current = c_unsigned(current)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("<vcpu current={current:?}> is not a vCPU count"))?;
    if current > max {
        return Err(format!(
            "<vcpu current='{current}'> exceeds the maximum {max}"
        ));
    }
    Ok(current)
}

/// How many bytes one `unit` is (`virScaleInteger` with scale 1024).
pub fn unit_bytes(unit: Option<&str>) -> Result<u64, String> {
    let unit = unit.unwrap_or_default();
    let lower = unit.to_ascii_lowercase();
    if unit.is_empty() {
        return Ok(1024);
    }
    if matches!(lower.as_str(), "b" | "byte" | "bytes") {
        return Ok(1);
    }
    let mut chars = lower.chars();
    let (Some(prefix), rest) = (chars.next(), chars.as_str()) else {
        return Err(format!("unknown unit {unit:?}"));
    };
    let base: u64 = match rest {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return Err(format!("unknown unit {unit:?}")),
    };
    let power = match prefix {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return Err(format!("unknown unit {unit:?}")),
    };
    Ok(base.pow(power))
}

/// The maximum memory in KiB libvirt would report for this config.
pub fn max_memory_kib(cfg: &DomainConfig) -> Result<u64, String> {
    let Some(memory) = &cfg.memory else {
        return Err("no <memory> element".into());
    };
    let value = c_unsigned(&memory.text)
        .ok_or_else(|| format!("<memory> {:?} is not a number", memory.text))?;
    let scale = unit_bytes(memory.attr.as_deref())?;
    if value > MAX_BYTES / scale {
        return Err(format!("<memory> {value} {scale}-byte units is too large"));
    }
    let kib = (value * scale).div_ceil(1024);
    if kib >= MAX_BYTES.div_ceil(1024) {
        return Err(format!("<memory> {kib} KiB is too large"));
    }
    Ok(kib)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(xml: &str) -> DomainConfig {
        DomainConfig::parse(xml)
    }

    #[test]
    fn units_as_libvirt_documents_them() {
        // https://libvirt.org/formatdomain.html#memory-allocation
        let table: [(&str, u64); 23] = [
            ("b", 1),
            ("bytes", 1),
            ("byte", 1),
            ("KB", 1000),
            ("k", 1024),
            ("KiB", 1024),
            ("MB", 1000u64.pow(2)),
            ("M", 1 << 20),
            ("MiB", 1 << 20),
            ("GB", 1000u64.pow(3)),
            ("G", 1 << 30),
            ("GiB", 1 << 30),
            ("TB", 1000u64.pow(4)),
            ("T", 1 << 40),
            ("TiB", 1 << 40),
            ("PB", 1000u64.pow(5)),
            ("P", 1 << 50),
            ("PiB", 1 << 50),
            ("EB", 1000u64.pow(6)),
            ("E", 1 << 60),
            ("EiB", 1 << 60),
            // case does not matter to libvirt (STRCASEEQ, c_tolower)
            ("kb", 1000),
            ("mib", 1 << 20),
        ];
        for (unit, bytes) in table {
            assert_eq!(unit_bytes(Some(unit)), Ok(bytes), "{unit}");
        }
        assert_eq!(unit_bytes(None), Ok(1024), "absent: KiB");
        assert_eq!(unit_bytes(Some("")), Ok(1024), "empty: KiB");
        for bad in ["bogus", "KIB ", "Ki", "x", "kibb", "Bi", "ZiB", "1"] {
            assert!(unit_bytes(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_is_kib_rounded_up() {
        let kib = |m: &str| max_memory_kib(&cfg(&format!("<domain>{m}</domain>")));
        // values checked with `virsh dominfo` on libvirt 9.0's test driver
        assert_eq!(kib("<memory unit='KB'>100000</memory>"), Ok(97657));
        assert_eq!(kib("<memory unit='GiB'>1</memory>"), Ok(1 << 20));
        assert_eq!(kib("<memory unit='b'>1025</memory>"), Ok(2));
        assert_eq!(kib("<memory> 64</memory>"), Ok(64));
        assert_eq!(kib("<memory>+64</memory>"), Ok(64));
        assert_eq!(kib("<memory unit='E'>1</memory>"), Ok(1 << 50));
        assert_eq!(kib("<memory>131072</memory>"), Ok(131072));
        for refused in [
            "<memory>64 </memory>",
            "<memory>-1</memory>",
            "<memory>0x10</memory>",
            "<memory></memory>",
            "<memory unit='bogus'>64</memory>",
            "<memory unit='E'>8</memory>",
            "<memory unit='b'>9223372036854775807</memory>",
            "<memory>99999999999999999999999</memory>",
            "",
        ] {
            assert!(kib(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn vcpus_current_else_maximum_else_one() {
        let n = |v: &str| vcpus(&cfg(&format!("<domain>{v}</domain>")));
        assert_eq!(n(""), Ok(1), "no <vcpu>: libvirt's default");
        assert_eq!(n("<vcpu>4</vcpu>"), Ok(4));
        assert_eq!(n("<vcpu current='2'>4</vcpu>"), Ok(2));
        assert_eq!(n("<vcpu current=' 1'>2</vcpu>"), Ok(1));
        assert_eq!(
            n("<vcpu current='0'>2</vcpu>"),
            Ok(0),
            "as dominfo shows it"
        );
        assert_eq!(n("<vcpu> +2</vcpu>"), Ok(2));
        for refused in [
            "<vcpu current='3'>2</vcpu>",
            "<vcpu>0</vcpu>",
            "<vcpu>two</vcpu>",
            "<vcpu/>",
            "<vcpu>4294967296</vcpu>",
            "<vcpu current='-1'>2</vcpu>",
        ] {
            assert!(n(refused).is_err(), "{refused}");
        }
    }
}
