/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ctl_proto.c - control protocol: the error codes carried in replies and their errno values */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cellgate/ctl.h"

/* A protocol code: the errno's symbolic name, as the reply's "code" carries it. */
struct ctl_code {
	int err;	  /* positive errno value */
	const char *name; /* its name on the wire */
};

#define CTL_CODE(e)   \
	{             \
		e, #e \
	}

/*
 * The names are the protocol; the numbers are this host's. ENOTSUP comes
 * before its alias EOPNOTSUPP so it is the name sent; both are understood.
 */
static const struct ctl_code ctl_codes[] = {
	CTL_CODE(EPERM),	CTL_CODE(ENOENT),	 CTL_CODE(ESRCH),
	CTL_CODE(EINTR),	CTL_CODE(EIO),		 CTL_CODE(ENXIO),
	CTL_CODE(E2BIG),	CTL_CODE(EBADF),	 CTL_CODE(EAGAIN),
	CTL_CODE(ENOMEM),	CTL_CODE(EACCES),	 CTL_CODE(EFAULT),
	CTL_CODE(EBUSY),	CTL_CODE(EEXIST),	 CTL_CODE(ENODEV),
	CTL_CODE(ENOTDIR),	CTL_CODE(EISDIR),	 CTL_CODE(EINVAL),
	CTL_CODE(ENFILE),	CTL_CODE(EMFILE),	 CTL_CODE(EFBIG),
	CTL_CODE(ENOSPC),	CTL_CODE(EROFS),	 CTL_CODE(EPIPE),
	CTL_CODE(EDOM),		CTL_CODE(ERANGE),	 CTL_CODE(EDEADLK),
	CTL_CODE(ENAMETOOLONG), CTL_CODE(ENOSYS),	 CTL_CODE(ENOTEMPTY),
	CTL_CODE(ELOOP),	CTL_CODE(ENODATA),	 CTL_CODE(ETIME),
	CTL_CODE(EPROTO),	CTL_CODE(EBADMSG),	 CTL_CODE(EOVERFLOW),
	CTL_CODE(EILSEQ),	CTL_CODE(EMSGSIZE),	 CTL_CODE(EPROTONOSUPPORT),
	CTL_CODE(ENOTSUP),	CTL_CODE(EOPNOTSUPP),	 CTL_CODE(EAFNOSUPPORT),
	CTL_CODE(EADDRINUSE),	CTL_CODE(EADDRNOTAVAIL), CTL_CODE(ENETDOWN),
	CTL_CODE(ENETUNREACH),	CTL_CODE(ECONNABORTED),	 CTL_CODE(ECONNRESET),
	CTL_CODE(ENOBUFS),	CTL_CODE(ENOTCONN),	 CTL_CODE(ETIMEDOUT),
	CTL_CODE(ECONNREFUSED), CTL_CODE(EHOSTUNREACH),	 CTL_CODE(EALREADY),
	CTL_CODE(EINPROGRESS),	CTL_CODE(ESTALE),	 CTL_CODE(EDQUOT),
	CTL_CODE(ECANCELED),	CTL_CODE(EOWNERDEAD),	 CTL_CODE(ENOTRECOVERABLE),
};

const char *cg_ctl_code_name(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(ctl_codes) / sizeof(ctl_codes[0]); i++)
		if (ctl_codes[i].err == err)
			return ctl_codes[i].name;
	return NULL;
}

int cg_ctl_code_errno(const char *code)
{
	size_t i;

	if (!code)
		return 0;
	for (i = 0; i < sizeof(ctl_codes) / sizeof(ctl_codes[0]); i++)
		if (!strcmp(ctl_codes[i].name, code))
			return ctl_codes[i].err;
	return 0;
}
