/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/config.h - the desired state's text and files: codec, state file, diff, check */
#ifndef CELLGATE_CONFIG_H
#define CELLGATE_CONFIG_H

#include "cellgate/check.h"
#include "cellgate/codec.h"
#include "cellgate/diff.h"
#include "cellgate/statefile.h"

#endif /* CELLGATE_CONFIG_H */
