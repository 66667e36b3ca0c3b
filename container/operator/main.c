// SPDX-License-Identifier: Apache-2.0
/* knext-operator: keeps a Knative Service for every NextApp. See operator.h. */
#include "container/operator/operator.h"

int main(int argc, char **argv)
{
	return operator_cli_main(argc, argv);
}
