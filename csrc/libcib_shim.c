/*
 * libcib_shim.c - the agent's only door to Pacemaker's CIB client library.
 *
 * libcib.so (and libcrmcommon.so, which it pulls in) is opened with dlopen on
 * first use, never linked: a steady-state monitor must not pay for loading
 * it. Every symbol taken from it is stored in a pointer whose type is
 * __typeof__ of the declaration in Pacemaker's own headers, and every call
 * through the cib_t / cib_api_operations_t vtable is compiled against those
 * headers, so a signature or layout that differs from the library the agent
 * is built for does not compile. Rust sees only the small vd_* functions
 * below (src/cluster/libcib.rs declares them).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crm/cib.h>
#include <crm/common/nvpair.h>
#include <crm/common/results.h>
#include <crm/common/xml.h>
#include <crm/msg_xml.h>
#include <libxml/globals.h>

#define VD_API(X)                                                              \
    X(cib_new)                                                                 \
    X(cib_delete)                                                              \
    X(crm_xml_init)                                                            \
    X(pcmk_strerror)                                                           \
    X(create_xml_node)                                                         \
    X(free_xml)                                                                \
    X(first_named_child)                                                       \
    X(crm_next_same_xml)                                                       \
    X(crm_element_value)                                                       \
    X(crm_xml_add)                                                             \
    X(crm_create_nvpair_xml)                                                   \
    X(dump_xml_unformatted)                                                    \
    X(xmlRegisterNodeDefault)                                                  \
    X(xmlDeregisterNodeDefault)                                                \
    X(xmlSetBufferAllocationScheme)

static struct {
#define VD_FIELD(name) __typeof__(name) *name;
    VD_API(VD_FIELD)
#undef VD_FIELD
} api;

/* libcrmcommon's node hooks, which libxml2 keeps per thread (see below). */
static xmlRegisterNodeFunc node_created;
static xmlDeregisterNodeFunc node_freed;

/* The soname the headers belong to ("libcib.so.27" for Pacemaker 2.1). */
const char *vd_cib_library(void)
{
    return CIB_LIBRARY;
}

/* Loads `library` (NULL: CIB_LIBRARY) and every symbol; 0, or -1 with why in
 * err. Called once (the Rust side keeps the outcome). */
int vd_cib_load(const char *library, char *err, size_t err_len)
{
    const char *lib = library ? library : CIB_LIBRARY;
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

    if (h == NULL) {
        const char *why = dlerror();
        snprintf(err, err_len, "cannot load %s: %s", lib, why ? why : "unknown error");
        return -1;
    }
#define VD_SYM(name)                                                           \
    api.name = (__typeof__(name) *) dlsym(h, #name);                           \
    if (api.name == NULL) {                                                    \
        snprintf(err, err_len, "%s not found in %s", #name, lib);              \
        return -1;                                                             \
    }
    VD_API(VD_SYM)
#undef VD_SYM
    /* what crm_log_preinit() does for Pacemaker's own tools: XML nodes get
     * the private data libcrmcommon's functions expect, and the schemas an
     * offline CIB file is validated against are listed */
    api.crm_xml_init();
    /* crm_xml_init() runs once per process, but the hooks it registers with
     * libxml2 (every node gets the private data libcrmcommon's functions
     * dereference) are thread-local: keep them, to register them again on
     * the thread of each session */
    node_created = api.xmlRegisterNodeDefault(NULL);
    api.xmlRegisterNodeDefault(node_created);
    node_freed = api.xmlDeregisterNodeDefault(NULL);
    api.xmlDeregisterNodeDefault(node_freed);
    return 0;
}

const char *vd_cib_strerror(int rc)
{
    return api.pcmk_strerror(rc);
}

/* cib_new() (CIB_file, CIB_shadow and CIB_port are honoured), signed on for
 * commands; NULL with the legacy return code in *rc. */
cib_t *vd_cib_connect(const char *client, int timeout_s, int *rc)
{
    cib_t *cib = NULL;

    /* this thread's libxml2 state as crm_xml_init() set its own thread's */
    api.xmlRegisterNodeDefault(node_created);
    api.xmlDeregisterNodeDefault(node_freed);
    api.xmlSetBufferAllocationScheme(XML_BUFFER_ALLOC_DOUBLEIT);
    cib = api.cib_new();

    if (cib == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    cib->call_timeout = timeout_s;
    *rc = cib->cmds->signon(cib, client, cib_command);
    if (*rc != pcmk_ok) {
        api.cib_delete(cib);
        return NULL;
    }
    return cib;
}

/* Signs off (an offline CIB file is written back here) and frees. */
int vd_cib_disconnect(cib_t *cib)
{
    int rc = cib->cmds->signoff(cib);

    api.cib_delete(cib);
    return rc;
}

/* The elements matching `xpath`, as crm_resource's find_resource_attr asks. */
int vd_cib_query(cib_t *cib, const char *xpath, xmlNode **out)
{
    *out = NULL;
    return cib->cmds->query(cib, xpath, out, cib_sync_call | cib_scope_local | cib_xpath);
}

/* crm_resource's own call options for changes: cib_sync_call. */
int vd_cib_modify(cib_t *cib, xmlNode *data)
{
    return cib->cmds->modify(cib, XML_CIB_TAG_RESOURCES, data, cib_sync_call);
}

int vd_cib_replace(cib_t *cib, xmlNode *data)
{
    return cib->cmds->replace(cib, XML_CIB_TAG_RESOURCES, data, cib_sync_call);
}

xmlNode *vd_xml_first(const xmlNode *parent, const char *name)
{
    return api.first_named_child(parent, name);
}

xmlNode *vd_xml_next(const xmlNode *sibling)
{
    return api.crm_next_same_xml(sibling);
}

const char *vd_xml_name(const xmlNode *node)
{
    return crm_element_name(node);
}

const char *vd_xml_get(const xmlNode *node, const char *name)
{
    return api.crm_element_value(node, name);
}

void vd_xml_set(xmlNode *node, const char *name, const char *value)
{
    api.crm_xml_add(node, name, value);
}

xmlNode *vd_xml_new(xmlNode *parent, const char *name)
{
    return api.create_xml_node(parent, name);
}

xmlNode *vd_xml_nvpair(xmlNode *parent, const char *id, const char *name, const char *value)
{
    return api.crm_create_nvpair_xml(parent, id, name, value);
}

void vd_xml_free(xmlNode *node)
{
    api.free_xml(node);
}

/* The element as text (free it with vd_free). */
char *vd_xml_dump(xmlNode *node)
{
    return api.dump_xml_unformatted(node);
}

void vd_free(void *p)
{
    free(p);
}
