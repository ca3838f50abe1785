/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* fuzz_common.h - what the libFuzzer targets share: a property check that aborts */
#ifndef CG_FUZZ_COMMON_H
#define CG_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep: print what broke and abort, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                                      \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                              \
			fputc('\n', stderr);                                       \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* An error message as the project writes them: one line, not empty. */
static inline int fuzz_one_line(const char *msg)
{
	return msg[0] && !strchr(msg, '\n');
}

#endif /* CG_FUZZ_COMMON_H */
