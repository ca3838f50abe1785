// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* util.c - what every benchmark part uses: clocks, medians, CPU pinning, program facts, JSON entries */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "util.h"

uint64_t bench_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

int bench_online_cpus(int *cpus, int cap)
{
	cpu_set_t set;
	int cpu, n = 0;

	/* the CPUs this process may use: online ones, minus what a cgroup or taskset took away */
	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE && n < cap; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

int bench_prog_facts(int fd, struct bench_prog_facts *f)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	f->xlated_insns = info.xlated_prog_len / 8;
	f->jited_bytes = info.jited_prog_len;
	f->verified_insns = info.verified_insns;
	return 0;
}

json_t *bench_prog_facts_json(const struct bench_prog_facts *f, const char *prog)
{
	return json_pack("{s:s, s:I, s:I, s:I}", "name", prog, "xlated_insns",
			 (json_int_t)f->xlated_insns, "jited_bytes", (json_int_t)f->jited_bytes,
			 "verified_insns", (json_int_t)f->verified_insns);
}

double bench_round2(double x)
{
	return round(x * 100) / 100;
}

json_t *bench_runs_json(const double *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_real(bench_round2(v[i])));
	return a;
}

long long bench_fd_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

int bench_write_json(json_t *j, const char *path)
{
	char tmp[4096];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (json_dump_file(j, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(10)))
		return -EIO;
	if (rename(tmp, path)) {
		n = -errno;
		unlink(tmp);
		return n;
	}
	return 0;
}
