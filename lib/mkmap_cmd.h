/* mkmap_cmd.h - the shared main() of postmap, postalias and newaliases. */
#ifndef MKMAP_CMD_H
#define MKMAP_CMD_H

#include "sys_defs.h"

/* mkmap_cmd_main - run the command; aliases: postalias syntax and output */
int mkmap_cmd_main(int argc, char **argv, bool aliases);

#endif
