/* The floor: the least a libvirt client can do to answer "is this domain
 * running": connect, look the domain up by name, read its state. */
#include <stdio.h>
#include <libvirt/libvirt.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s URI DOMAIN\n", argv[0]);
        return 2;
    }
    virConnectPtr conn = virConnectOpen(argv[1]);
    if (!conn)
        return 1;
    virDomainPtr dom = virDomainLookupByName(conn, argv[2]);
    int state = -1, reason = 0;
    if (dom) {
        if (virDomainGetState(dom, &state, &reason, 0) < 0)
            state = -1;
        virDomainFree(dom);
    }
    virConnectClose(conn);
    return state == VIR_DOMAIN_RUNNING ? 0 : 7;
}
