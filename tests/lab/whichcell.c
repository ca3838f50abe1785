// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* whichcell.c - lab tool: the cell the live table and the connection table give a flow */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/config.h"
#include "cellgate/dataplane.h"
#include "cellgate/abi/hash.h"

/*
 * whichcell PIN_DIR STATE_FILE tcp|udp SRC SPORT DST DPORT
 * prints "table=<cell> conntrack=<cell|none>" for the flow SRC:SPORT ->
 * DST:DPORT, read from the pinned maps without changing them (the
 * conntrack lookup does not touch the LRU; the seed is the settings'). Exit 1 on any error.
 */

static const char *cell_name(const struct cg_state *st, uint32_t id)
{
	for (size_t i = 0; i < st->ncells; i++)
		if (st->cells[i].id == id)
			return st->cells[i].name;
	return "?";
}

static int addr(const char *text, __be32 out[4], uint8_t *family)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1) {
		*family = CG_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out) == 1) {
		*family = CG_AF_INET6;
		return 0;
	}
	fprintf(stderr, "whichcell: bad address '%s'\n", text);
	return -1;
}

int main(int argc, char **argv)
{
	static uint32_t slots[CG_MAX_TABLE_SIZE];
	struct cg_service_key skey = { 0 };
	struct cg_flow_key key = { 0 };
	struct cg_service svc;
	struct cg_config cfg;
	struct cg_conn conn;
	struct cg_state st;
	struct cg_dp *dp;
	char err[512];
	uint32_t size = 0;
	int ret;

	if (argc != 8) {
		fprintf(stderr, "usage: whichcell PIN_DIR STATE_FILE tcp|udp SRC SPORT DST DPORT\n");
		return 2;
	}
	cg_state_init(&st);
	if (cg_state_load(argv[2], &st, err, sizeof(err))) {
		fprintf(stderr, "whichcell: %s\n", err);
		return 1;
	}
	dp = cg_dp_open(&(struct cg_dp_opts){ .pin_dir = argv[1], .readonly = true });
	if (!dp)
		return 1;
	key.proto = !strcmp(argv[3], "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
	if (addr(argv[4], key.saddr, &key.family) || addr(argv[6], key.daddr, &key.family))
		return 1;
	key.sport = htons((uint16_t)atoi(argv[5]));
	key.dport = htons((uint16_t)atoi(argv[7]));

	memcpy(skey.addr, key.daddr, sizeof(skey.addr));
	skey.port = key.dport;
	skey.proto = key.proto;
	skey.family = key.family;
	ret = cg_dp_config_get(dp, &cfg);
	if (!ret)
		ret = cg_dp_service_get(dp, &skey, &svc);
	if (!ret)
		ret = cg_dp_table_read(dp, svc.id, slots, CG_MAX_TABLE_SIZE, &size);
	if (ret) {
		fprintf(stderr, "whichcell: no service or table for that flow: %s\n", strerror(-ret));
		return 1;
	}
	printf("table=%s ", cell_name(&st, slots[cg_flow_hash(&key, cfg.seed_cell) % size]));
	if (cg_dp_conn_lookup(dp, &key, &conn) == 0)
		printf("conntrack=%s\n", cell_name(&st, conn.cell));
	else
		printf("conntrack=none\n");
	cg_dp_close(dp);
	cg_state_free(&st);
	return 0;
}
