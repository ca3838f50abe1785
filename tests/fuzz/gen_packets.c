// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* gen_packets.c - writes the packet seed corpus (tests/fuzz/corpus/fuzz_packet/) from tests/lib/pkt.c */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/abi/consts.h"
#include "pkt.h"

/*
 * usage: gen_packets DIR - one file a frame, named for what it is. The
 * addresses are those test_xcheck.c configures: VIP4/VIP6 with TCP and UDP
 * services on port 80, clients CLI4/CLI6, OTHER4 no service. Run by `make
 * fuzz-seeds`; the files are committed, so the corpus only changes when
 * this does.
 */
#define VIP4   "198.51.100.10"
#define VIP6   "2001:db8:100::10"
#define CLI4   "192.0.2.7"
#define CLI6   "2001:db8:c::7"
#define OTHER4 "203.0.113.9"

static const char *dir;
static int failed;

static void put(const char *name, const uint8_t *frame, size_t len)
{
	char path[512];
	FILE *f;

	if (!len) {
		fprintf(stderr, "gen_packets: cannot build '%s'\n", name);
		failed = 1;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(frame, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "gen_packets: cannot write '%s': %s\n", path, strerror(errno));
		failed = 1;
	}
}

static void build(const char *name, const struct tpkt *p)
{
	uint8_t frame[TPKT_MAX_FRAME];

	put(name, frame, tpkt_build(p, frame, sizeof(frame)));
}

int main(int argc, char **argv)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	static const uint8_t mac[6] = { 2, 0, 0x5e, 0x10, 0, 2 };
	uint8_t frame[TPKT_MAX_FRAME];
	struct tpkt t4 = { .family = 4,
			   .src = CLI4,
			   .dst = VIP4,
			   .proto = 6,
			   .sport = 40000,
			   .dport = 80,
			   .tcp_flags = 0x02,
			   .payload_len = 16 };
	struct tpkt u6 = { .family = 6,
			   .src = CLI6,
			   .dst = VIP6,
			   .proto = 17,
			   .sport = 40001,
			   .dport = 80,
			   .payload_len = 32 };
	struct tpkt p, q;
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_packets DIR\n");
		return 2;
	}
	dir = argv[1];
	build("tcp4_syn", &t4);
	p = t4, p.tcp_flags = 0x10;
	build("tcp4_ack", &p);
	p = t4, p.ip_opt_len = 8;
	build("tcp4_ip_options", &p);
	p = t4, p.nvlan = 1, p.vlan_tci[0] = 100;
	build("tcp4_vlan", &p);
	p = t4, p.nvlan = 2, p.vlan_tci[0] = 100, p.vlan_tci[1] = 200;
	build("tcp4_qinq", &p);
	p = t4, p.frag = TPKT_FRAG_FIRST;
	build("tcp4_frag_first", &p);
	p = t4, p.frag = TPKT_FRAG_LATER, p.frag_offset_bytes = 64;
	build("tcp4_frag_later", &p);
	p = t4, p.dst = OTHER4;
	build("tcp4_no_service", &p);
	p = t4, p.proto = 1;
	build("icmp4_echo", &p);
	p = t4, p.proto = 47, p.payload_len = 0;
	build("gre4", &p);
	build("udp6", &u6);
	p = u6, p.n_ext = 2, p.ext[0] = 0, p.ext[1] = 60;
	build("udp6_hop_dst", &p);
	p = u6, p.n_ext = 4, p.ext[0] = 0, p.ext[1] = 60, p.ext[2] = 43, p.ext[3] = 60;
	build("udp6_ext4", &p);
	p = u6, p.frag = TPKT_FRAG_FIRST;
	build("udp6_frag_first", &p);
	p = u6, p.frag = TPKT_FRAG_LATER, p.frag_offset_bytes = 64;
	build("udp6_frag_later", &p);
	p = u6, p.proto = 6, p.tcp_flags = 0x02;
	build("tcp6_syn", &p);
	/* ICMP errors about a flow the VIP sent to the client */
	p = t4, p.src = CLI4, p.dst = VIP4;
	q = t4, q.src = VIP4, q.dst = CLI4, q.sport = 80, q.dport = 40000;
	put("icmp4_too_big", frame, tpkt_build_icmp_too_big(&p, &q, 0, 1400, frame, sizeof(frame)));
	put("icmp4_unreach", frame, tpkt_build_icmp_err(&p, 3, 1, 0, &q, 28, frame, sizeof(frame)));
	p = u6, p.src = CLI6, p.dst = VIP6;
	q = u6, q.src = VIP6, q.dst = CLI6, q.sport = 80, q.dport = 40001;
	put("icmp6_too_big", frame, tpkt_build_icmp_too_big(&p, &q, 0, 1280, frame, sizeof(frame)));
	/* hostile packets to a VIP (docs/architecture.md, "Rules worth knowing") */
	p = t4, memset(p.dmac, 0xff, sizeof(p.dmac));
	build("tcp4_broadcast_mac", &p);
	p = t4, p.src = "127.0.0.1";
	build("tcp4_src_loopback", &p);
	p = u6, p.src = "ff02::1";
	build("udp6_src_multicast", &p);
	p = u6, p.dport = 0;
	build("udp6_port_zero", &p);
	p = t4, p.tcp_flags = 0;
	build("tcp4_null_scan", &p);
	p = t4, p.tcp_flags = 0x06;
	build("tcp4_syn_rst", &p);
	p = t4, p.src = CLI4, p.dst = VIP4;
	q = t4, q.src = VIP4, q.dst = CLI4, q.sport = 80, q.dport = 40000;
	len = tpkt_build_icmp_err(&p, 3, 1, 0, &q, 20, frame, sizeof(frame));
	put("icmp4_quote_in_padding", frame, tpkt_pad(frame, len, sizeof(frame), len + 8));
	/* truncated and odd frames */
	len = tpkt_build(&t4, frame, sizeof(frame));
	put("tcp4_truncated", frame, len > 20 ? len - 20 : 0);
	len = tpkt_build(&t4, frame, sizeof(frame));
	put("tcp4_padded", frame, tpkt_pad(frame, len, sizeof(frame), 128));
	len = tpkt_build(&u6, frame, sizeof(frame));
	put("udp6_short_header", frame, len > 40 ? 14 + 30 : 0);
	put("arp", frame, tpkt_frame(mac, mac, 0x0806, arp, sizeof(arp), frame, sizeof(frame)));
	return failed;
}
