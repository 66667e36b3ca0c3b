// SPDX-License-Identifier: Apache-2.0
//
// The libnode shim: the sequence of node.h calls an embedder makes for one environment. Kept small
// on purpose; everything else the child does is C (node_main.c, binding.c) or the bootstrap JS.
#include "embed.h"

#include <node.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

// Not in node.h, but exported by libnode 18 (the same call InitializeOncePerProcess makes).
namespace node::crypto
{
void UseExtraCaCerts(const std::string &file);
}

extern "C" void embed_use_extra_ca_certs(const char *file)
{
	node::crypto::UseExtraCaCerts(file);
}

static int run_environment(node::MultiIsolatePlatform *platform,
			   const std::vector<std::string> &args,
			   const std::vector<std::string> &exec_args, const struct embed_args *ea)
{
	std::vector<std::string> errors;
	std::unique_ptr<node::CommonEnvironmentSetup> setup =
		node::CommonEnvironmentSetup::Create(platform, &errors, args, exec_args);
	if (!setup) {
		for (const std::string &e : errors)
			std::fprintf(stderr, "knext-node: %s\n", e.c_str());
		return 1;
	}

	v8::Isolate *isolate = setup->isolate();
	node::Environment *env = setup->env();
	int exit_code = 1;
	{
		v8::Locker locker(isolate);
		v8::Isolate::Scope isolate_scope(isolate);
		v8::HandleScope handle_scope(isolate);
		v8::Context::Scope context_scope(setup->context());

		node::AddLinkedBinding(env, ea->binding_name, ea->binding_init);

		// An exception in the bootstrap has already been reported by Node's own handler, which
		// also set the exit code; the empty result only tells us not to spin the loop.
		if (node::LoadEnvironment(env, ea->bootstrap).IsEmpty())
			return 1;
		exit_code = node::SpinEventLoop(env).FromMaybe(1);
		node::Stop(env);
	}
	return exit_code;
}

extern "C" int embed_run(const struct embed_args *ea)
{
	std::vector<std::string> argv(ea->argv, ea->argv + ea->argc);
	uint64_t flags = node::ProcessInitializationFlags::kNoInitializeV8 |
			 node::ProcessInitializationFlags::kNoInitializeNodeV8Platform;

	// Debian's libnode parses the whole system CA store (twice) while initialising OpenSSL:
	// ~50 ms of CPU at every start. Left to OpenSSL's implicit initialisation instead, the config
	// and the store load on first TLS use. Only configurations that need the eager path keep it.
	if (ea->lazy_openssl)
		flags |= node::ProcessInitializationFlags::kNoInitOpenSSL;
	std::unique_ptr<node::InitializationResult> init = node::InitializeOncePerProcess(
		argv, static_cast<node::ProcessInitializationFlags::Flags>(flags));

	for (const std::string &e : init->errors())
		std::fprintf(stderr, "%s: %s\n", argv.empty() ? "knext-node" : argv[0].c_str(),
			     e.c_str());
	if (init->early_return())
		return init->exit_code();

	// Four worker threads, as `node` uses by default.
	std::unique_ptr<node::MultiIsolatePlatform> platform =
		node::MultiIsolatePlatform::Create(4);
	v8::V8::InitializePlatform(platform.get());
	v8::V8::Initialize();

	int ret = run_environment(platform.get(), init->args(), init->exec_args(), ea);

	v8::V8::Dispose();
	v8::V8::DisposePlatform();
	node::TearDownOncePerProcess();
	return ret;
}
