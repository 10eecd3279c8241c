using Hangfire.Logging;

namespace RetentionCampaigns.Scheduling;

/// <summary>
/// Hangfire's log lines into the host's logging. Hangfire keeps its loggers in static fields, made once per process,
/// so each one looks up the current host's logger factory when it writes (and a stopped host's is never used).
/// </summary>
sealed class HangfireLogging : ILogProvider
{
    static readonly HangfireLogging Instance = new();
    static volatile ILoggerFactory? current;

    public static void UseFor(ILoggerFactory factory)
    {
        current = factory;
        LogProvider.SetCurrentLogProvider(Instance);
    }

    public static void Forget(ILoggerFactory factory) => Interlocked.CompareExchange(ref current, null, factory);

    public ILog GetLogger(string name) => new Forwarding(name);

    sealed class Forwarding(string name) : ILog
    {
        (ILoggerFactory Factory, ILogger Logger)? made;

        ILogger? Current()
        {
            if (current is not { } factory) return null;
            if (made is { } known && ReferenceEquals(known.Factory, factory)) return known.Logger;
            var logger = factory.CreateLogger(name);
            made = (factory, logger);
            return logger;
        }

        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            var level = logLevel switch
            {
                Hangfire.Logging.LogLevel.Trace => Microsoft.Extensions.Logging.LogLevel.Trace,
                Hangfire.Logging.LogLevel.Debug => Microsoft.Extensions.Logging.LogLevel.Debug,
                Hangfire.Logging.LogLevel.Info => Microsoft.Extensions.Logging.LogLevel.Information,
                Hangfire.Logging.LogLevel.Warn => Microsoft.Extensions.Logging.LogLevel.Warning,
                Hangfire.Logging.LogLevel.Error => Microsoft.Extensions.Logging.LogLevel.Error,
                _ => Microsoft.Extensions.Logging.LogLevel.Critical,
            };
            try
            {
                if (Current() is not { } logger || !logger.IsEnabled(level)) return false;
                if (messageFunc is not null) logger.Log(level, exception, "{Message}", messageFunc());
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false; // the host stopped between the look-up and the write
            }
        }
    }
}
