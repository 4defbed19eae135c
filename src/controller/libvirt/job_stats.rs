//! A migration job's statistics (`virDomainGetJobStats`) read straight
//! into a [`JobSample`]. Not through `virt`'s `Domain::job_stats`: it
//! builds a `Vec` on libvirt's array even when libvirt returns none (a null
//! pointer: undefined behaviour, a panic in debug builds, seen when a job
//! had just ended), frees libvirt's memory with Rust's allocator, and
//! panics on a parameter of an unexpected type. Here the array is read in
//! place, unknown or mistyped fields are skipped, and libvirt's own
//! `virTypedParamsFree` releases it.

use std::ffi::CStr;
use std::ptr;

use virt::domain::Domain;
use virt::sys;

use crate::controller::JobSample;

/// The job's type and a sample of its statistics (`None`: libvirt did not
/// answer). `flags`: `virDomainGetJobStatsFlags`.
pub(super) fn job_sample(dom: &Domain, flags: u32) -> Option<(u32, JobSample)> {
    let (mut kind, mut params, mut n) = (0, ptr::null_mut(), 0);
    // SAFETY: a valid domain handle; every out-pointer points to a live
    // local; libvirt allocates the array it returns in `params`.
    let rc =
        unsafe { sys::virDomainGetJobStats(dom.as_ptr(), &mut kind, &mut params, &mut n, flags) };
    if rc < 0 {
        return None;
    }
    let sample = match usize::try_from(n) {
        Ok(len) if len > 0 && !params.is_null() => {
            // SAFETY: libvirt returned `n` initialised parameters at `params`.
            sample_of(unsafe { std::slice::from_raw_parts(params, len) })
        }
        _ => JobSample::default(),
    };
    // SAFETY: the array libvirt allocated (with its strings), freed once;
    // virTypedParamsFree accepts a null pointer.
    unsafe { sys::virTypedParamsFree(params, n) };
    Some((u32::try_from(kind).unwrap_or(u32::MAX), sample))
}

/// Where each statistic goes (all `u64` in the sample).
type Slot = fn(&mut JobSample) -> &mut u64;

/// The statistics read, by libvirt's name.
fn slots() -> [(&'static CStr, Slot); 10] {
    [
        (sys::VIR_DOMAIN_JOB_TIME_ELAPSED, |s| &mut s.elapsed_ms),
        (sys::VIR_DOMAIN_JOB_DATA_TOTAL, |s| &mut s.data_total),
        (sys::VIR_DOMAIN_JOB_DATA_PROCESSED, |s| {
            &mut s.data_processed
        }),
        (sys::VIR_DOMAIN_JOB_DATA_REMAINING, |s| {
            &mut s.data_remaining
        }),
        (sys::VIR_DOMAIN_JOB_MEMORY_TOTAL, |s| &mut s.mem_total),
        (sys::VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, |s| &mut s.dirty_rate),
        (sys::VIR_DOMAIN_JOB_MEMORY_BPS, |s| &mut s.bandwidth),
        (sys::VIR_DOMAIN_JOB_MEMORY_ITERATION, |s| &mut s.iteration),
        (sys::VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, |s| {
            &mut s.throttle
        }),
        (sys::VIR_DOMAIN_JOB_DOWNTIME, |s| &mut s.downtime_ms),
    ]
}

/// The numeric value of a parameter (negative ones as 0); `None` for
/// strings and other types.
fn number(p: &sys::virTypedParameter) -> Option<u64> {
    // SAFETY (each arm): the union is read as the type libvirt tagged it with.
    Some(match u32::try_from(p.type_).ok()? {
        sys::VIR_TYPED_PARAM_INT => u64::try_from(unsafe { p.value.i }).unwrap_or(0),
        sys::VIR_TYPED_PARAM_UINT => u64::from(unsafe { p.value.ui }),
        sys::VIR_TYPED_PARAM_LLONG => u64::try_from(unsafe { p.value.l }).unwrap_or(0),
        sys::VIR_TYPED_PARAM_ULLONG => unsafe { p.value.ul },
        _ => return None,
    })
}

/// libvirt's statistics in the controller's terms (the dirty rate from
/// pages/s to bytes/s).
pub(super) fn sample_of(params: &[sys::virTypedParameter]) -> JobSample {
    let mut sample = JobSample::default();
    let mut page_size = 4096;
    let slots = slots();
    for p in params {
        // SAFETY: libvirt NUL-terminates each field name inside its array.
        let name = unsafe { CStr::from_ptr(p.field.as_ptr()) };
        let Some(value) = number(p) else { continue };
        if name == sys::VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE {
            page_size = value;
        } else if let Some((_, slot)) = slots.iter().find(|(n, _)| *n == name) {
            *slot(&mut sample) = value;
        }
    }
    sample.dirty_rate = sample.dirty_rate.saturating_mul(page_size);
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(
        name: &CStr,
        type_: u32,
        value: sys::_virTypedParameterValue,
    ) -> sys::virTypedParameter {
        let mut field = [0; 80];
        for (to, from) in field.iter_mut().zip(name.to_bytes()) {
            *to = *from as std::os::raw::c_char;
        }
        sys::virTypedParameter {
            field,
            type_: type_ as i32,
            value,
        }
    }

    fn ull(name: &CStr, ul: u64) -> sys::virTypedParameter {
        param(
            name,
            sys::VIR_TYPED_PARAM_ULLONG,
            sys::_virTypedParameterValue { ul },
        )
    }

    #[test]
    fn job_statistics_in_the_controllers_terms() {
        let params = [
            ull(sys::VIR_DOMAIN_JOB_TIME_ELAPSED, 4200),
            ull(sys::VIR_DOMAIN_JOB_DATA_PROCESSED, 90 << 20),
            ull(sys::VIR_DOMAIN_JOB_DATA_REMAINING, 10 << 20),
            ull(sys::VIR_DOMAIN_JOB_MEMORY_TOTAL, 128 << 20),
            ull(sys::VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, 2560),
            ull(sys::VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, 4096),
            ull(sys::VIR_DOMAIN_JOB_MEMORY_BPS, 8 << 20),
            ull(sys::VIR_DOMAIN_JOB_MEMORY_ITERATION, 3),
            param(
                sys::VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE,
                sys::VIR_TYPED_PARAM_INT,
                sys::_virTypedParameterValue { i: 20 },
            ),
            // mistyped or unknown: skipped, never a panic
            param(
                sys::VIR_DOMAIN_JOB_DOWNTIME,
                sys::VIR_TYPED_PARAM_BOOLEAN,
                sys::_virTypedParameterValue { b: 1 },
            ),
            ull(c"no_such_statistic", 7),
        ];
        let s = sample_of(&params);
        assert_eq!(s.dirty_rate, 10 << 20, "pages/s times the page size");
        assert_eq!(
            (s.elapsed_ms, s.iteration, s.throttle, s.downtime_ms),
            (4200, 3, 20, 0)
        );
        assert_eq!(s.percent(), 90);
        assert_eq!(
            s.progress(Some(500)),
            "90% done, 10.0 MiB left, dirty 10.0 MiB/s, sent 8.0 MiB/s, iteration 3, \
             downtime limit 500 ms, vCPUs throttled 20%"
        );
        assert_eq!(sample_of(&[]), JobSample::default());
    }
}
