/* Lifecycle event watcher for the benchmarks (bench/harness.py): the stop
 * and start figures compare the agent's exit time with the moment libvirt
 * itself reports the domain stopped or started, on the same clock
 * (CLOCK_REALTIME, which is Python's time.time()).
 *
 * usage: events URI DOMAIN [TIMEOUT_S]
 * Prints "ready <t>" once registered, then one line per lifecycle event of
 * DOMAIN: "<EVENT> <t> <detail>" (EVENT: STARTED, STOPPED, RESUMED, ...).
 * Events of every domain are received and filtered by name, so DOMAIN may
 * not exist yet (a transient domain the agent is about to create). Runs
 * until killed, until TIMEOUT_S (default 600) or until the connection
 * closes (exit 3). */
#include <libvirt/libvirt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *wanted;
static volatile int closed;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *event_name(int event)
{
    static const char *names[] = {"DEFINED", "UNDEFINED", "STARTED", "SUSPENDED",
                                  "RESUMED", "STOPPED", "SHUTDOWN", "PMSUSPENDED",
                                  "CRASHED"};
    if (event >= 0 && event < (int)(sizeof names / sizeof names[0]))
        return names[event];
    return "UNKNOWN";
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                        void *opaque)
{
    (void)conn;
    (void)opaque;
    double t = now();
    const char *name = virDomainGetName(dom);
    if (name && strcmp(name, wanted) == 0)
        printf("%s %.6f %d\n", event_name(event), t, detail);
    return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    (void)opaque;
    fprintf(stderr, "events: connection closed (reason %d)\n", reason);
    closed = 1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s URI DOMAIN [TIMEOUT_S]\n", argv[0]);
        return 2;
    }
    wanted = argv[2];
    unsigned timeout = argc == 4 ? (unsigned)atoi(argv[3]) : 600;
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(timeout ? timeout : 600); /* default SIGALRM action: terminate */

    if (virEventRegisterDefaultImpl() < 0)
        return 1;
    virConnectPtr conn = virConnectOpen(argv[1]);
    if (!conn)
        return 1;
    virConnectRegisterCloseCallback(conn, on_close, NULL, NULL);
    if (virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
                                         NULL, NULL) < 0) {
        virConnectClose(conn);
        return 1;
    }
    printf("ready %.6f\n", now());
    while (!closed)
        if (virEventRunDefaultImpl() < 0)
            break;
    virConnectClose(conn);
    return 3;
}
