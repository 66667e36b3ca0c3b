// SPDX-License-Identifier: Apache-2.0
#include "common/knative.h"

#include <stddef.h>
#include <string.h>

static const long reserved_ports[] = { 8012, 8013, 8022, 9090, 9091, 8008 };
static const char *const reserved_env[] = { "PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION" };

bool knative_port_reserved(long port)
{
	for (size_t i = 0; i < sizeof(reserved_ports) / sizeof(reserved_ports[0]); i++)
		if (reserved_ports[i] == port)
			return true;
	return false;
}

bool knative_env_reserved(const char *name)
{
	for (size_t i = 0; i < sizeof(reserved_env) / sizeof(reserved_env[0]); i++)
		if (!strcmp(reserved_env[i], name))
			return true;
	return false;
}
