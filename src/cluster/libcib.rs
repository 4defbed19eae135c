//! Pacemaker's CIB client library (libcib), loaded on first use.
//!
//! Why it exists: writing utilization with `crm_resource` costs a process
//! (15–40 ms) per attribute, and side-by-side runs against an offline CIB
//! (`CIB_file`) overwrite each other. Through libcib an action needs one
//! connection, one query and one change, in-process.
//!
//! How it is checked: libcib's API is C structs and a vtable
//! (`cib_t.cmds->query(...)`), which a Rust declaration could only mirror by
//! hand. Instead a small C shim (csrc/libcib_shim.c, compiled by build.rs
//! with the `cc` crate against `pacemaker-dev`'s headers) makes every call:
//! each symbol it takes with `dlsym` is stored in a pointer of type
//! `__typeof__(symbol) *` and the vtable is reached through the headers'
//! own struct definitions, so a changed signature or layout fails the
//! build, with nothing duplicated in Rust. (Static asserts of offsets
//! against Rust constants would check the layout but not the argument types
//! of each call, and would restate the layout in a second place.) Rust sees
//! only the shim's `vd_*` functions, declared below with opaque pointers.
//!
//! Like libvirt.so (`controller::libvirt::dynload`), the library is never
//! linked (a steady-state monitor does not load it): the shim `dlopen`s
//! `CIB_LIBRARY` (libcib.so.27 for Pacemaker 2.1) the first time a write or
//! read is due, and a library that cannot be loaded is an error the caller
//! answers by running `crm_resource` instead.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::sync::OnceLock;

/// `cib_t`, only ever behind a pointer.
#[repr(C)]
struct CibT {
    _opaque: [u8; 0],
}

/// libxml2's `xmlNode`, only ever behind a pointer.
#[repr(C)]
struct XmlNode {
    _opaque: [u8; 0],
}

extern "C" {
    fn vd_cib_library() -> *const c_char;
    fn vd_cib_load(library: *const c_char, err: *mut c_char, err_len: usize) -> c_int;
    fn vd_cib_strerror(rc: c_int) -> *const c_char;
    fn vd_cib_connect(client: *const c_char, timeout_s: c_int, rc: *mut c_int) -> *mut CibT;
    fn vd_cib_disconnect(cib: *mut CibT) -> c_int;
    fn vd_cib_query(cib: *mut CibT, xpath: *const c_char, out: *mut *mut XmlNode) -> c_int;
    fn vd_cib_modify(cib: *mut CibT, data: *mut XmlNode) -> c_int;
    fn vd_cib_replace(cib: *mut CibT, data: *mut XmlNode) -> c_int;
    fn vd_xml_first(parent: *const XmlNode, name: *const c_char) -> *mut XmlNode;
    fn vd_xml_next(sibling: *const XmlNode) -> *mut XmlNode;
    fn vd_xml_name(node: *const XmlNode) -> *const c_char;
    fn vd_xml_get(node: *const XmlNode, name: *const c_char) -> *const c_char;
    fn vd_xml_set(node: *mut XmlNode, name: *const c_char, value: *const c_char);
    fn vd_xml_new(parent: *mut XmlNode, name: *const c_char) -> *mut XmlNode;
    fn vd_xml_nvpair(
        parent: *mut XmlNode,
        id: *const c_char,
        name: *const c_char,
        value: *const c_char,
    ) -> *mut XmlNode;
    fn vd_xml_free(node: *mut XmlNode);
    fn vd_xml_dump(node: *mut XmlNode) -> *mut c_char;
    fn vd_free(p: *mut c_void);
}

/// Pacemaker's legacy return code for "no such object".
pub const NO_SUCH_OBJECT: i32 = -(nix::libc::ENXIO);

static LOADED: OnceLock<Result<(), String>> = OnceLock::new();

/// The soname the agent was built for (Pacemaker's `CIB_LIBRARY`).
pub fn library_name() -> String {
    // SAFETY: returns a pointer to the shim's static string constant.
    unsafe { CStr::from_ptr(vd_cib_library()) }
        .to_string_lossy()
        .into_owned()
}

/// Loads libcib and takes every symbol the shim needs, once per process;
/// an error says why (the library is absent or lacks a symbol).
pub fn load() -> Result<(), String> {
    LOADED
        .get_or_init(|| {
            let mut err = [0 as c_char; 512];
            // SAFETY: NULL selects CIB_LIBRARY; err is a writable buffer
            // of the length given; called once (OnceLock).
            let rc = unsafe { vd_cib_load(std::ptr::null(), err.as_mut_ptr(), err.len()) };
            if rc == 0 {
                Ok(())
            } else {
                // SAFETY: snprintf NUL-terminated the buffer.
                let why = unsafe { CStr::from_ptr(err.as_ptr()) };
                Err(why.to_string_lossy().into_owned())
            }
        })
        .clone()
}

/// Pacemaker's text for a legacy return code.
pub fn strerror(rc: i32) -> String {
    // SAFETY: only reached after load() succeeded (a Session exists);
    // pcmk_strerror returns a static string.
    let text = unsafe { vd_cib_strerror(rc) };
    if text.is_null() {
        return format!("error {rc}");
    }
    // SAFETY: non-null static NUL-terminated string.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

fn c(text: &str) -> CString {
    // names and values the agent builds never hold NUL; an instance name
    // with one is refused before a query is built
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// One signed-on connection (`cib_new()`: CIB_file, CIB_shadow and
/// CIB_port are honoured). Dropping it signs off, which is when an offline
/// CIB file is written back: call [`Session::close`] to see that result.
pub struct Session {
    cib: *mut CibT,
}

impl Session {
    /// Signs on as `client`; libcib's own wait for an answer is
    /// `timeout_s` seconds per call.
    pub fn connect(client: &str, timeout_s: i32) -> Result<Session, i32> {
        load().map_err(|_| NO_SUCH_OBJECT)?;
        let mut rc: c_int = 0;
        let name = c(client);
        // SAFETY: the library is loaded; name and rc are valid.
        let cib = unsafe { vd_cib_connect(name.as_ptr(), timeout_s.max(1), &mut rc) };
        if cib.is_null() {
            Err(if rc == 0 { -nix::libc::ENOMEM } else { rc })
        } else {
            Ok(Session { cib })
        }
    }

    /// The element `xpath` selects (`Ok(None)`: none does).
    pub fn query(&self, xpath: &str) -> Result<Option<Xml>, i32> {
        let path = c(xpath);
        let mut out: *mut XmlNode = std::ptr::null_mut();
        // SAFETY: a live connection; out receives a tree we own.
        let rc = unsafe { vd_cib_query(self.cib, path.as_ptr(), &mut out) };
        let tree = (!out.is_null()).then_some(Xml { root: out });
        match rc {
            0 => Ok(tree),
            NO_SUCH_OBJECT => Ok(None),
            rc => Err(rc),
        }
    }

    /// Merges `data` into the resources section (crm_resource's change).
    pub fn modify(&self, data: &Xml) -> Result<(), i32> {
        // SAFETY: a live connection and a tree we own (libcib copies it).
        let rc = unsafe { vd_cib_modify(self.cib, data.root) };
        if rc == 0 {
            Ok(())
        } else {
            Err(rc)
        }
    }

    /// Replaces the element with `node`'s tag and id by `node`.
    pub fn replace(&self, node: Node<'_>) -> Result<(), i32> {
        // SAFETY: a live connection and a node of a tree we own.
        let rc = unsafe { vd_cib_replace(self.cib, node.ptr) };
        if rc == 0 {
            Ok(())
        } else {
            Err(rc)
        }
    }

    /// Signs off (writing an offline CIB file back) and frees.
    pub fn close(mut self) -> Result<(), i32> {
        let cib = std::mem::replace(&mut self.cib, std::ptr::null_mut());
        // SAFETY: a live connection, freed here and never used again.
        let rc = unsafe { vd_cib_disconnect(cib) };
        if rc == 0 {
            Ok(())
        } else {
            Err(rc)
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.cib.is_null() {
            // SAFETY: a live connection, freed once.
            unsafe { vd_cib_disconnect(self.cib) };
        }
    }
}

/// An XML tree this process owns (a query's answer, or one it built).
pub struct Xml {
    root: *mut XmlNode,
}

impl Xml {
    /// A new element `name` without parent.
    pub fn new(name: &str) -> Xml {
        let n = c(name);
        // SAFETY: the library is loaded (only sessions build trees).
        Xml {
            root: unsafe { vd_xml_new(std::ptr::null_mut(), n.as_ptr()) },
        }
    }

    pub fn root(&self) -> Node<'_> {
        Node {
            ptr: self.root,
            _tree: PhantomData,
        }
    }

    /// The tree as one line of XML (for logs and tests).
    pub fn dump(&self) -> String {
        self.root().dump()
    }
}

impl Drop for Xml {
    fn drop(&mut self) {
        if !self.root.is_null() {
            // SAFETY: a tree we own, freed once.
            unsafe { vd_xml_free(self.root) };
        }
    }
}

/// An element of an [`Xml`] tree, valid while the tree is.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    ptr: *mut XmlNode,
    _tree: PhantomData<&'a Xml>,
}

impl<'a> Node<'a> {
    fn wrap(ptr: *mut XmlNode) -> Option<Node<'a>> {
        (!ptr.is_null()).then_some(Node {
            ptr,
            _tree: PhantomData,
        })
    }

    /// The children named `name`, in document order.
    pub fn children(self, name: &str) -> Vec<Node<'a>> {
        let n = c(name);
        let mut found = Vec::new();
        // SAFETY: a live node; first_named_child/crm_next_same_xml walk it.
        let mut next = Node::wrap(unsafe { vd_xml_first(self.ptr, n.as_ptr()) });
        while let Some(node) = next {
            found.push(node);
            // SAFETY: as above.
            next = Node::wrap(unsafe { vd_xml_next(node.ptr) });
        }
        found
    }

    pub fn name(self) -> String {
        // SAFETY: a live node.
        let text = unsafe { vd_xml_name(self.ptr) };
        owned(text).unwrap_or_default()
    }

    pub fn get(self, attr: &str) -> Option<String> {
        let a = c(attr);
        // SAFETY: a live node and a valid name.
        owned(unsafe { vd_xml_get(self.ptr, a.as_ptr()) })
    }

    pub fn set(self, attr: &str, value: &str) {
        let (a, v) = (c(attr), c(value));
        // SAFETY: a live node; crm_xml_add copies both strings.
        unsafe { vd_xml_set(self.ptr, a.as_ptr(), v.as_ptr()) };
    }

    /// A new last child `name`.
    pub fn add_child(self, name: &str) -> Node<'a> {
        let n = c(name);
        // SAFETY: a live node; the child belongs to its tree.
        let child = unsafe { vd_xml_new(self.ptr, n.as_ptr()) };
        Node::wrap(child).unwrap_or(self)
    }

    /// A new last child `<nvpair id name value/>` (crm_create_nvpair_xml,
    /// as crm_resource builds it).
    pub fn add_nvpair(self, id: &str, name: &str, value: &str) {
        let (i, n, v) = (c(id), c(name), c(value));
        // SAFETY: a live node and valid strings (copied).
        unsafe { vd_xml_nvpair(self.ptr, i.as_ptr(), n.as_ptr(), v.as_ptr()) };
    }

    /// Unlinks and frees this element (the handle must not be used again).
    pub fn remove(self) {
        // SAFETY: a live non-root node (free_xml unlinks it first).
        unsafe { vd_xml_free(self.ptr) };
    }

    pub fn dump(self) -> String {
        // SAFETY: a live node; the returned string is ours to free.
        let text = unsafe { vd_xml_dump(self.ptr) };
        let out = owned(text).unwrap_or_default();
        // SAFETY: allocated by libcrmcommon with malloc.
        unsafe { vd_free(text.cast()) };
        out
    }
}

fn owned(text: *const c_char) -> Option<String> {
    // SAFETY: NULL or a NUL-terminated string owned by the tree.
    (!text.is_null()).then(|| {
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    })
}
