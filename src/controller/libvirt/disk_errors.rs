//! `virDomainGetDiskErrors`, which virt 0.5 does not wrap: the disks an
//! I/O error was recorded on (what `virsh domblkerror` prints), for the
//! monitor's exit reason when qemu paused a guest on such an error.

use std::ffi::CStr;

use virt::sys;

use super::errors::check;
use crate::controller::DiskError;

/// The domain's disk errors (empty when none is recorded).
pub(super) fn read(dom: &virt::domain::Domain) -> Result<Vec<DiskError>, virt::error::Error> {
    // SAFETY: a NULL array with 0 entries asks for the count only.
    let count =
        check(unsafe { sys::virDomainGetDiskErrors(dom.as_ptr(), std::ptr::null_mut(), 0, 0) })?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut raw = vec![
        sys::virDomainDiskError {
            disk: std::ptr::null_mut(),
            error: 0,
        };
        usize::try_from(count).unwrap_or(0)
    ];
    let max = u32::try_from(raw.len()).unwrap_or(0);
    // SAFETY: `raw` holds `max` entries for libvirt to fill.
    let filled =
        check(unsafe { sys::virDomainGetDiskErrors(dom.as_ptr(), raw.as_mut_ptr(), max, 0) })?;
    let filled = usize::try_from(filled).unwrap_or(0).min(raw.len());
    let mut errors = Vec::with_capacity(filled);
    for entry in &raw[..filled] {
        let device = if entry.disk.is_null() {
            String::new()
        } else {
            // SAFETY: libvirt filled `disk` with a NUL-terminated string it
            // allocated with malloc; read once, then freed by us, as its
            // documentation asks.
            let text = unsafe { CStr::from_ptr(entry.disk) }
                .to_string_lossy()
                .into_owned();
            unsafe { nix::libc::free(entry.disk.cast()) };
            text
        };
        errors.push(DiskError {
            device,
            code: entry.error,
        });
    }
    Ok(errors)
}
