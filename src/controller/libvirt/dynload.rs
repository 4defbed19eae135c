//! libvirt.so, loaded only when a call needs it.
//!
//! Why it exists: loading libvirt.so and its ~57 libraries costs about 8 ms,
//! most of a bare "is this domain running" query, and a steady-state monitor
//! of a local domain does not need it (see `controller::rpc`). The
//! executable therefore does not link libvirt: `main.rs` expands
//! [`export_libvirt_shims!`](crate::export_libvirt_shims), which defines
//! every libvirt function the `virt` crate calls as a forwarder to the real
//! one, looked up here with `dlopen`/`dlsym` on first use. Because those
//! definitions come first on the link line, the linker (`--as-needed`)
//! records no dependency on libvirt.so.0 (a test checks the ELF header).
//! Each forwarder's signature is checked at compile time against the one
//! `virt-sys` declares. Test binaries link libvirt normally.

use std::ffi::{c_void, CStr, CString};
use std::sync::OnceLock;

use nix::libc;

/// Re-exported for the forwarders `export_libvirt_shims!` defines.
pub use virt::sys;

/// The library the forwarders resolve their symbols in.
const LIBRARY: &CStr = c"libvirt.so.0";

/// The `dlopen` handle (as an address) or why loading failed.
static HANDLE: OnceLock<Result<usize, String>> = OnceLock::new();

/// Loads libvirt.so.0 if that has not been done yet.
pub fn ensure_loaded() -> Result<(), String> {
    handle().map(drop)
}

/// Whether libvirt.so.0 is loaded in this process (by us or by the linker).
pub fn is_loaded() -> bool {
    // SAFETY: RTLD_NOLOAD only looks the library up, never loads it; a
    // returned handle is a reference that is deliberately never closed.
    !unsafe { libc::dlopen(LIBRARY.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) }.is_null()
}

fn handle() -> Result<usize, String> {
    HANDLE
        .get_or_init(|| {
            // SAFETY: dlopen with a valid C string; the handle is never
            // closed, so symbols taken from it stay valid for the process.
            let h = unsafe { libc::dlopen(LIBRARY.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
            if h.is_null() {
                Err(format!(
                    "cannot load {}: {}",
                    LIBRARY.to_string_lossy(),
                    dl_error()
                ))
            } else {
                Ok(h as usize)
            }
        })
        .clone()
}

/// The last `dlerror()` message.
fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a valid NUL-terminated string.
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        "unknown dlopen error".into()
    } else {
        // SAFETY: non-null, NUL-terminated, read before any other dl call.
        unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned()
    }
}

/// The address of libvirt's `name`, loading the library if needed.
///
/// A forwarder cannot return an error of its own, so when libvirt cannot be
/// loaded or lacks the symbol this ends the action as an OCF error (exit
/// reason, exit 1). The controller calls [`ensure_loaded`] before its first
/// libvirt call and reports that failure properly, so this is a last resort.
pub fn symbol(name: &str) -> *mut c_void {
    let found = handle().and_then(|h| {
        let c_name = CString::new(name).map_err(|_| format!("bad symbol name {name}"))?;
        // SAFETY: `h` is a live handle from dlopen; `c_name` is valid.
        let sym = unsafe { libc::dlsym(h as *mut c_void, c_name.as_ptr()) };
        if sym.is_null() {
            Err(format!("{name} not found in libvirt: {}", dl_error()))
        } else {
            Ok(sym)
        }
    });
    match found {
        Ok(sym) => sym,
        Err(msg) => {
            crate::ocf::reason::exit_reason(crate::ocf::reason::DEFAULT_PREFIX, &msg);
            std::process::exit(i32::from(crate::ocf::OcfRc::ErrGeneric.code()));
        }
    }
}

/// Defines, in the crate that expands it (the executable), a forwarder for
/// every libvirt function the agent uses. See the module documentation.
#[macro_export]
macro_rules! export_libvirt_shims {
    () => {
        $crate::export_libvirt_shims! {
            fn virConnectClose(conn: virConnectPtr) -> c_int;
            fn virConnectGetURI(conn: virConnectPtr) -> *mut c_char;
            fn virConnectDomainEventDeregisterAny(conn: virConnectPtr, id: c_int) -> c_int;
            fn virConnectDomainEventRegisterAny(conn: virConnectPtr, dom: virDomainPtr,
                event_id: c_int, cb: virConnectDomainEventGenericCallback,
                opaque: *mut c_void, freecb: virFreeCallback) -> c_int;
            fn virConnectIsAlive(conn: virConnectPtr) -> c_int;
            fn virConnectListAllDomains(conn: virConnectPtr, domains: *mut *mut virDomainPtr,
                flags: c_uint) -> c_int;
            fn virConnectOpen(name: *const c_char) -> virConnectPtr;
            fn virDomainAbortJob(dom: virDomainPtr) -> c_int;
            fn virDomainCreate(dom: virDomainPtr) -> c_int;
            fn virDomainCreateXML(conn: virConnectPtr, xml: *const c_char, flags: c_uint)
                -> virDomainPtr;
            fn virDomainDefineXML(conn: virConnectPtr, xml: *const c_char) -> virDomainPtr;
            fn virDomainDestroy(dom: virDomainPtr) -> c_int;
            fn virDomainFree(dom: virDomainPtr) -> c_int;
            fn virDomainGetDiskErrors(dom: virDomainPtr, errors: virDomainDiskErrorPtr,
                maxerrors: c_uint, flags: c_uint) -> c_int;
            fn virDomainGetTime(dom: virDomainPtr, seconds: *mut c_longlong, nseconds: *mut c_uint,
                flags: c_uint) -> c_int;
            fn virDomainGetInfo(dom: virDomainPtr, info: virDomainInfoPtr) -> c_int;
            fn virDomainGetJobInfo(dom: virDomainPtr, info: virDomainJobInfoPtr) -> c_int;
            fn virDomainGetJobStats(dom: virDomainPtr, type_: *mut c_int,
                params: *mut virTypedParameterPtr, nparams: *mut c_int, flags: c_uint) -> c_int;
            fn virDomainGetMetadata(dom: virDomainPtr, kind: c_int, uri: *const c_char,
                flags: c_uint) -> *mut c_char;
            fn virDomainGetName(dom: virDomainPtr) -> *const c_char;
            fn virDomainGetState(dom: virDomainPtr, state: *mut c_int, reason: *mut c_int,
                flags: c_uint) -> c_int;
            fn virDomainGetUUIDString(dom: virDomainPtr, buf: *mut c_char) -> c_int;
            fn virDomainGetXMLDesc(dom: virDomainPtr, flags: c_uint) -> *mut c_char;
            fn virDomainIsActive(dom: virDomainPtr) -> c_int;
            fn virDomainIsPersistent(dom: virDomainPtr) -> c_int;
            fn virDomainLookupByName(conn: virConnectPtr, name: *const c_char) -> virDomainPtr;
            fn virDomainMigrate3(dom: virDomainPtr, dconn: virConnectPtr,
                params: virTypedParameterPtr, nparams: c_uint, flags: c_uint) -> virDomainPtr;
            fn virDomainMigrateSetMaxDowntime(dom: virDomainPtr, downtime: c_ulonglong,
                flags: c_uint) -> c_int;
            fn virDomainMigrateStartPostCopy(dom: virDomainPtr, flags: c_uint) -> c_int;
            fn virDomainMigrateToURI3(dom: virDomainPtr, dconnuri: *const c_char,
                params: virTypedParameterPtr, nparams: c_uint, flags: c_uint) -> c_int;
            fn virDomainPMWakeup(dom: virDomainPtr, flags: c_uint) -> c_int;
            fn virDomainRestore(conn: virConnectPtr, from: *const c_char) -> c_int;
            fn virDomainResume(dom: virDomainPtr) -> c_int;
            fn virDomainSaveImageGetXMLDesc(conn: virConnectPtr, file: *const c_char,
                flags: c_uint) -> *mut c_char;
            fn virDomainSaveFlags(dom: virDomainPtr, to: *const c_char, dxml: *const c_char,
                flags: c_uint) -> c_int;
            fn virDomainSetMetadata(dom: virDomainPtr, kind: c_int, metadata: *const c_char,
                key: *const c_char, uri: *const c_char, flags: c_uint) -> c_int;
            fn virDomainShutdown(dom: virDomainPtr) -> c_int;
            fn virDomainShutdownFlags(dom: virDomainPtr, flags: c_uint) -> c_int;
            fn virDomainSuspend(dom: virDomainPtr) -> c_int;
            fn virDomainUndefine(dom: virDomainPtr) -> c_int;
            fn virDomainUndefineFlags(dom: virDomainPtr, flags: c_uint) -> c_int;
            fn virEventRegisterDefaultImpl() -> c_int;
            fn virEventRunDefaultImpl() -> c_int;
            fn virGetLastError() -> virErrorPtr;
            fn virNetworkCreate(net: virNetworkPtr) -> c_int;
            fn virNetworkIsActive(net: virNetworkPtr) -> c_int;
            fn virNetworkLookupByName(conn: virConnectPtr, name: *const c_char) -> virNetworkPtr;
            fn virSetErrorFunc(data: *mut c_void, handler: virErrorFunc) -> ();
            fn virStoragePoolCreate(pool: virStoragePoolPtr, flags: c_uint) -> c_int;
            fn virStoragePoolIsActive(pool: virStoragePoolPtr) -> c_int;
            fn virStoragePoolLookupByName(conn: virConnectPtr, name: *const c_char)
                -> virStoragePoolPtr;
            fn virStoragePoolRefresh(pool: virStoragePoolPtr, flags: c_uint) -> c_int;
            fn virTypedParamsFree(params: virTypedParameterPtr, nparams: c_int) -> ();
        }
    };
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        /// Forwarders to libvirt's functions of the same names.
        #[allow(non_snake_case, unused_imports, clippy::missing_safety_doc)]
        mod libvirt_forwarders {
            use ::std::os::raw::{c_char, c_int, c_longlong, c_uint, c_ulonglong, c_void};
            use $crate::controller::libvirt::dynload::sys::{
                virConnectDomainEventGenericCallback, virConnectPtr, virDomainDiskErrorPtr,
                virDomainInfoPtr,
                virDomainJobInfoPtr, virDomainPtr, virErrorFunc, virErrorPtr, virFreeCallback,
                virNetworkPtr, virStoragePoolPtr, virTypedParameterPtr,
            };
            $(
                #[no_mangle]
                pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
                    type Signature = unsafe extern "C" fn($($ty),*) -> $ret;
                    // The same signature as virt-sys declares, or no build.
                    const _: Signature = $crate::controller::libvirt::dynload::sys::$name;
                    let sym = $crate::controller::libvirt::dynload::symbol(stringify!($name));
                    // SAFETY: `sym` is libvirt's definition of this function,
                    // whose C signature is the one virt-sys declares (checked
                    // above); the arguments are passed through unchanged.
                    let real = unsafe { ::std::mem::transmute::<*mut c_void, Signature>(sym) };
                    unsafe { real($($arg),*) }
                }
            )*
        }
    };
}
