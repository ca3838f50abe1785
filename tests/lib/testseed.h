/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* testseed.h - the flow hash seeds the exact-bytes tests are written against */
#ifndef CG_TEST_SEED_H
#define CG_TEST_SEED_H

/*
 * A deployment's seeds come from its secret hash key; the packet tests and
 * benchmarks set these two in the settings entry explicitly, so the cells,
 * GUE ports, flow labels and shed decisions they expect stay the same.
 */
#define CG_TEST_SEED_CELL  0x9e3779b9U /* settings.seed_cell */
#define CG_TEST_SEED_ADMIT 0x85ebca6bU /* settings.seed_admit */

#endif /* CG_TEST_SEED_H */
