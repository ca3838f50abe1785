// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* health_stub.c - until the prober is wired: no probes, every cell believed up (TEMPORARY) */
#include <string.h>

#include "cellgated.h"

bool cgd_health_view(const struct cgd *d, uint8_t *h)
{
	memset(h, 0, d->st.ncells);
	return false;
}

bool cgd_health_panicking(const struct cgd *d)
{
	(void)d;
	return false;
}
