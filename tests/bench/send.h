/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* send.h - a bounded UDP packet generator for the lab's throughput figure */
#ifndef CG_BENCH_SEND_H
#define CG_BENCH_SEND_H

/*
 * bench_send_main - "bench send": small UDP datagrams to --dst:--port from
 * --flows sockets (one source port, so one flow, each), with sendmmsg, until
 * --count datagrams or --seconds have passed. Prints one JSON object on
 * stdout: {"sent", "seconds", "pps"}. Returns the exit status (0, 1, 2).
 */
int bench_send_main(int argc, char **argv);

#endif /* CG_BENCH_SEND_H */
