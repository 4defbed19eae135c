/* Peak RSS of a command for the benchmarks (bench/figures.py): prints the
 * ru_maxrss (KiB) that wait4 reports for CMD's process tree (the largest
 * process of it), then exits with CMD's exit code.
 *
 * Why not measure from Python: subprocess spawns with vfork (or fork), and
 * the kernel keeps the RSS high-water mark of the address space the child
 * had before exec, i.e. the Python interpreter's (~15 MB), so every figure
 * would be at least that. This program is small, and fork()s a copy of
 * itself only.
 *
 * usage: rss CMD [ARG...]   (stdout: "maxrss_kib N" on the last line) */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CMD [ARG...]\n", argv[0]);
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 125;
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return 125;
    printf("maxrss_kib %ld\n", ru.ru_maxrss);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
