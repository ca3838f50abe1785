# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# lab.mk - the namespace lab's programs: cellsrv (a cell's server) and labclient (the test client)
#
# Included by the top-level Makefile, which provides BUILD, CC, CFLAGS, LDFLAGS and msg.
# Standalone: make -f Makefile -f tests/lab/lab.mk build/cellsrv build/labclient
# (the guard makes including it twice harmless).

ifndef CG_LAB_MK
CG_LAB_MK := 1

LAB_BINS += $(BUILD)/cellsrv $(BUILD)/labclient

# cellsrv and loadreport encode (and decode) load reports with the library (cellgate/report.h)
LAB_BINS += $(BUILD)/loadreport
$(BUILD)/cellsrv $(BUILD)/loadreport: $(BUILD)/%: $(BUILD)/tests/lab/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# one source file, no library: compile and link in one step (-MMD writes $@.d)

$(BUILD)/labclient: tests/lab/labclient.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) $< -o $@

# whichcell reads the pinned maps: it links the library (LIB, LDLIBS from the Makefile)
LAB_BINS += $(BUILD)/whichcell
$(BUILD)/whichcell: $(BUILD)/tests/lab/whichcell.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

endif
