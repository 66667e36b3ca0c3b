// SPDX-License-Identifier: Apache-2.0
//
// The libnode 18 backend (Debian's libnode108, the build option -Druntime=libnode18): the
// sequence of node.h calls an embedder makes for one environment, and the code cache of Node's
// builtins, which Debian's build lacks. Kept small on purpose; everything else the child does is
// C (node_main.c, binding.c, cache.c) or the bootstrap JS.
#include "supervisor/node/embed.h"

#include <dlfcn.h>
#include <node.h>
#include <node_version.h>
#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

// Not in node.h, but exported by libnode 18 (the same call InitializeOncePerProcess makes).
namespace node::crypto
{
void UseExtraCaCerts(const std::string &file);
}

// knext-node is our own executable here; libnode is one of its libraries. As with the official
// runtime, only the process PID 1 started (KNEXT_NOTIFY_FD) or a snapshot build runs node_main():
// any other (the app's child_process.fork() of process.execPath) is plain node.
int main(int argc, char **argv)
{
	const char *fd = std::getenv("KNEXT_NOTIFY_FD");
	const char *out = std::getenv("KNEXT_SNAPSHOT_OUT");

	if ((fd && *fd) || (out && *out))
		return node_main(argc, argv);
	return node::Start(argc, argv);
}

extern "C" const char *embed_runtime(void)
{
	return "libnode " NODE_VERSION;
}

// Debian's libnode parses the whole system CA store (twice) while initialising OpenSSL: ~50 ms of
// CPU at every start, saved by leaving OpenSSL to its implicit initialisation (see embed_run()).
extern "C" int embed_lazy_openssl(void)
{
	return 1;
}

// Node 18's embedder API restores no user-land snapshot.
extern "C" int embed_restores_snapshots(void)
{
	return 0;
}

extern "C" void embed_use_extra_ca_certs(const char *file)
{
	node::crypto::UseExtraCaCerts(file);
}

// ---- Node's builtins from the pack -------------------------------------------------------------
//
// Debian builds libnode without a code cache of Node's own JavaScript: its BuiltinLoader compiles
// every builtin from source with ScriptCompiler::CompileFunction, then serialises it with
// CreateCodeCacheForFunction (to reuse within the process). Both are exported V8 functions that
// libnode calls through its PLT, and this executable comes first in the lookup scope: the two
// definitions below are the ones libnode's calls reach. They hand V8 the pack's code cache for a
// builtin (zero copy) and otherwise call libnode's own, found with dlsym(RTLD_NEXT). ScriptCompiler
// is a friend of ScriptCompiler::Source, which is what lets them read and set its fields.

namespace
{
using CompileFunctionFn = v8::MaybeLocal<v8::Function> (*)(v8::Local<v8::Context>,
							   v8::ScriptCompiler::Source *, size_t,
							   v8::Local<v8::String>[], size_t,
							   v8::Local<v8::Object>[],
							   v8::ScriptCompiler::CompileOptions,
							   v8::ScriptCompiler::NoCacheReason);
using CreateCodeCacheFn = v8::ScriptCompiler::CachedData *(*)(v8::Local<v8::Function>);

struct recorded_builtin {
	std::string id;
	uint64_t hash;
	v8::Global<v8::Function> fn;
};

const struct embed_builtins *builtins;
pthread_t main_thread;
struct embed_builtin_stats builtin_stats;
// Never destroyed: a process.exit() leaves through exit(), with the isolate still alive.
std::vector<recorded_builtin> &recorded = *new std::vector<recorded_builtin>;
// The pack's bytes V8 just accepted for a builtin, which libnode asks to serialise right after.
thread_local struct {
	const uint8_t *data;
	int length;
} just_consumed;

template <typename Fn> Fn next_definition(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		std::fprintf(stderr, "knext-node: libnode lacks %s\n", name);
		std::abort();
	}
	return reinterpret_cast<Fn>(f);
}

// libnode's own CreateCodeCacheForFunction, behind the definition below.
CreateCodeCacheFn libnode_create_code_cache()
{
	static const CreateCodeCacheFn f =
		next_definition<CreateCodeCacheFn>(KNEXT_V8_CREATE_CODE_CACHE);

	return f;
}

// "node:internal/bootstrap/node" -> "internal/bootstrap/node"; empty for anything else.
std::string builtin_id(v8::Isolate *isolate, v8::Local<v8::Value> name)
{
	if (name.IsEmpty() || !name->IsString())
		return {};
	v8::String::Utf8Value s(isolate, name);
	if (!*s || std::strncmp(*s, "node:", 5) != 0)
		return {};
	return std::string(*s + 5, s.length() - 5);
}

uint64_t source_hash(v8::Isolate *isolate, v8::Local<v8::String> s)
{
	if (s->IsExternalOneByte()) {
		const v8::String::ExternalOneByteStringResource *r =
			s->GetExternalOneByteStringResource();
		return builtins->hash(r->data(), r->length());
	}
	if (s->IsExternalTwoByte()) {
		const v8::String::ExternalStringResource *r = s->GetExternalStringResource();
		return builtins->hash(r->data(), r->length() * sizeof(uint16_t));
	}
	std::vector<uint16_t> units(static_cast<size_t>(s->Length()));
	s->Write(isolate, units.data(), 0, s->Length(), v8::String::NO_NULL_TERMINATION);
	return builtins->hash(units.data(), units.size() * sizeof(uint16_t));
}
} // namespace

v8::MaybeLocal<v8::Function>
v8::ScriptCompiler::CompileFunction(Local<Context> context, Source *source, size_t arguments_count,
				    Local<String> arguments[], size_t context_extension_count,
				    Local<Object> context_extensions[], CompileOptions options,
				    NoCacheReason no_cache_reason)
{
	static const CompileFunctionFn next =
		next_definition<CompileFunctionFn>(KNEXT_V8_COMPILE_FUNCTION);
	const bool on_main = builtins && pthread_equal(pthread_self(), main_thread);
	Isolate *isolate = context->GetIsolate();
	std::string id;
	uint64_t hash = 0;

	just_consumed = {};
	// What libnode's BuiltinLoader asks for a builtin it has no cache of.
	if (on_main && options == kNoCompileOptions && !source->cached_data &&
	    !source->consume_cache_task)
		id = builtin_id(isolate, source->resource_name);
	if (id.empty())
		return next(context, source, arguments_count, arguments, context_extension_count,
			    context_extensions, options, no_cache_reason);

	hash = source_hash(isolate, source->source_string);
	size_t len = 0;
	const void *data = builtins->find ? builtins->find(id.c_str(), hash, &len) : nullptr;
	if (data) {
		source->cached_data.reset(new CachedData(static_cast<const uint8_t *>(data),
							 static_cast<int>(len),
							 CachedData::BufferNotOwned));
		options = kConsumeCodeCache;
	}
	MaybeLocal<Function> fn =
		next(context, source, arguments_count, arguments, context_extension_count,
		     context_extensions, options, no_cache_reason);
	if (!data) {
		builtin_stats.miss++;
	} else if (source->cached_data->rejected) {
		builtin_stats.rejected++;
	} else {
		builtin_stats.hit++;
		just_consumed = { static_cast<const uint8_t *>(data), static_cast<int>(len) };
	}
	Local<Function> f;
	if (builtins->record && fn.ToLocal(&f)) {
		bool seen = false;
		for (const recorded_builtin &r : recorded)
			seen = seen || r.id == id;
		if (!seen)
			recorded.push_back({ id, hash, Global<Function>(isolate, f) });
	}
	return fn;
}

v8::ScriptCompiler::CachedData *v8::ScriptCompiler::CreateCodeCacheForFunction(Local<Function> fn)
{
	const auto consumed = just_consumed;

	// libnode keeps what it gets for later compiles in this process: the accepted cache serves
	// as well as a fresh one, and costs no serialisation.
	just_consumed = {};
	if (consumed.data)
		return new CachedData(consumed.data, consumed.length, CachedData::BufferNotOwned);
	return libnode_create_code_cache()(fn);
}

extern "C" unsigned embed_builtins_collect(embed_builtin_sink sink, void *ctx)
{
	const CreateCodeCacheFn create = libnode_create_code_cache();
	v8::Isolate *isolate = v8::Isolate::GetCurrent();
	unsigned n = 0;

	if (!isolate || !pthread_equal(pthread_self(), main_thread))
		return 0;
	v8::HandleScope scope(isolate);
	for (const recorded_builtin &r : recorded) {
		std::unique_ptr<v8::ScriptCompiler::CachedData> cd(create(r.fn.Get(isolate)));

		if (!cd || cd->length <= 0)
			continue;
		n++;
		if (sink(ctx, r.id.c_str(), r.hash, cd->data, static_cast<size_t>(cd->length)))
			break;
	}
	return n;
}

extern "C" int embed_builtins_stats(struct embed_builtin_stats *out)
{
	*out = builtin_stats;
	return 0;
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
		// The recorded builtins' handles go while the isolate is still entered.
		struct forget_recorded {
			~forget_recorded()
			{
				recorded.clear();
			}
		} forget;

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

extern "C" int embed_build_snapshot(const struct embed_args *ea, const char *out)
{
	(void)ea, (void)out;
	std::fprintf(stderr, "knext-node: the libnode " NODE_VERSION
			     " runtime cannot build startup snapshots\n");
	return 1;
}

extern "C" int embed_run(const struct embed_args *ea)
{
	std::vector<std::string> argv(ea->argv, ea->argv + ea->argc);
	builtins = ea->builtins;
	main_thread = pthread_self();
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
