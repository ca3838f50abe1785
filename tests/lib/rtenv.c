// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* rtenv.c - a loaded router with cells, services and tables, for packet tests and benchmarks */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/maglev.h"
#include "rtenv.h"
#include "testseed.h"

int rtenv_addr(const char *text, uint32_t out[4])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1)
		return CG_AF_INET;
	if (inet_pton(AF_INET6, text, out) == 1)
		return CG_AF_INET6;
	return 0;
}

struct cg_dp *rtenv_open(uint32_t conntrack_size, const char *src4, const char *src6, uint32_t mtu)
{
	struct cg_config cfg = { .mtu = mtu,
				 .seed_cell = CG_TEST_SEED_CELL,
				 .seed_admit = CG_TEST_SEED_ADMIT };
	uint32_t a[4];
	struct cg_dp *dp;

	dp = cg_dp_open(&(struct cg_dp_opts){ .conntrack_size = conntrack_size });
	if (!dp)
		return NULL;
	if (src4 && rtenv_addr(src4, a) == CG_AF_INET)
		cfg.src4 = a[0];
	if (src6 && rtenv_addr(src6, a) == CG_AF_INET6)
		memcpy(cfg.src6, a, sizeof(cfg.src6));
	if (cg_dp_config_set(dp, &cfg)) {
		cg_dp_close(dp);
		errno = EINVAL;
		return NULL;
	}
	return dp;
}

int rtenv_cell(struct cg_dp *dp, uint32_t id, const char *gw, uint16_t gue_port, uint16_t vlan,
	       const uint8_t mac[6])
{
	struct cg_cell c = { .state = CG_CELL_ACTIVE };

	c.family = (uint8_t)rtenv_addr(gw, c.gw);
	if (!c.family)
		return -EINVAL;
	c.encap = gue_port ? CG_ENCAP_GUE : CG_ENCAP_IPIP;
	c.gue_port = htons(gue_port);
	c.vlan = htons(vlan);
	memcpy(c.dmac, mac, 6);
	return cg_dp_cell_set(dp, id, &c);
}

int rtenv_service(struct cg_dp *dp, uint32_t id, const char *vip, uint16_t port, uint8_t proto,
		  uint8_t default_class, int alias)
{
	struct cg_service v = { .id = id, .default_class = default_class };
	struct cg_service_key k = { .port = htons(port), .proto = proto };
	int ret;

	k.family = (uint8_t)rtenv_addr(vip, k.addr);
	if (!k.family)
		return -EINVAL;
	ret = cg_dp_service_set(dp, &k, &v);
	if (ret || !alias)
		return ret;
	k.port = 0;
	v.flags = CG_SVC_F_FRAG_ALIAS;
	return cg_dp_service_set(dp, &k, &v);
}

int rtenv_table(struct cg_dp *dp, uint32_t svc_id, const uint32_t *ids, size_t n, uint32_t size)
{
	struct cg_maglev_cell *mc = calloc(n, sizeof(*mc));
	char(*names)[16] = calloc(n, sizeof(*names));
	uint32_t *slots = calloc(size, sizeof(*slots));
	int ret = -ENOMEM;

	if (mc && names && slots) {
		for (size_t i = 0; i < n; i++) {
			snprintf(names[i], sizeof(names[i]), "c%u", ids[i]);
			mc[i] = (struct cg_maglev_cell){ .id = ids[i],
							 .name = names[i],
							 .weight = 1 };
		}
		ret = cg_maglev_build(mc, n, slots, size);
		if (!ret)
			ret = cg_dp_table_swap(dp, svc_id, slots, size);
	}
	free(mc);
	free(names);
	free(slots);
	return ret;
}
