using Microsoft.Extensions.FileProviders;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Mvc.Filters;

namespace RetentionCampaigns.Pages;

/// <summary>
/// The marketer UI's one style sheet, inline and allowed by its hash: the pages load nothing from anywhere else
/// (no fonts, scripts or images from third-party hosts) and run no inline script.
/// </summary>
public static class UiPage
{
    public const string StyleSheet =
        "body{margin:0;background:#f4f4f5;color:#18181b;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}" +
        "header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between;padding:.75rem 1.25rem;background:#0f766e;color:#fff}" +
        "header a{color:#fff}header form{display:inline}nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}" +
        "main{max-width:72rem;margin:1.5rem auto;padding:0 1.25rem}h1{font-size:1.6rem;margin:0 0 1rem}" +
        ".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:1rem}" +
        ".tile{background:#fff;border-radius:8px;padding:1rem}.tile .value{font-size:1.8rem;font-weight:700}.tile .basis{color:#52525b;font-size:.9rem}" +
        "form.card{background:#fff;border-radius:8px;padding:1.5rem;max-width:26rem}label{display:block;margin:0 0 1rem;font-weight:600}" +
        "select{display:block;margin-top:.3rem;padding:.5rem;font:inherit}form.card+form.card,form.card+h2{margin-top:1.5rem}" +
        "input{display:block;width:100%;box-sizing:border-box;margin-top:.3rem;padding:.55rem;font:inherit;border:1px solid #a1a1aa;border-radius:6px}" +
        "button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#0f766e;color:#fff;cursor:pointer}" +
        "header button{background:#fff;color:#0f766e}.error{color:#b91c1c;font-weight:400;display:block;margin-top:.25rem}" +
        "a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}" +
        "table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;margin:0 0 1.5rem}th,td{text-align:left;padding:.5rem .75rem;border-bottom:1px solid #e4e4e7;vertical-align:top}" +
        "div.card{background:#fff;border-radius:8px;padding:1rem 1.5rem;margin:0 0 1.5rem;border-left:4px solid #0f766e}code{font-size:1rem;word-break:break-all}" +
        "button.danger{background:#b91c1c}td form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}" +
        "table.grid td{width:18%}table.grid td span{display:block;font-size:.85rem;color:#3f3f46}table.grid caption{text-align:left;padding:.5rem .75rem}" +
        ".shade-1{background:#f0fdfa}.shade-2{background:#ccfbf1}.shade-3{background:#99f6e4}.shade-4{background:#5eead4}.shade-5{background:#2dd4bf}" +
        "h2{margin:2rem 0 .75rem}" +
        "form.filters{display:flex;flex-wrap:wrap;gap:.75rem 1rem;align-items:flex-end;background:#fff;border-radius:8px;padding:1rem;margin:0 0 1rem}" +
        "form.filters label{margin:0;flex:1 1 11rem}form.filters label:first-child{flex:3 1 18rem}.hint,.sub{display:block;color:#52525b;font-size:.85rem;font-weight:400}" +
        "select{width:100%;border:1px solid #a1a1aa;border-radius:6px;background:#fff}textarea{width:100%;box-sizing:border-box;font:14px/1.4 ui-monospace,monospace;padding:.5rem}" +
        ".chips{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0}.chips li,.chip{background:#ccfbf1;border-radius:999px;padding:.2rem .8rem}" +
        "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;background:#fff;border-radius:8px;padding:1rem 1.5rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0}" +
        "ol.timeline{list-style:none;padding:0;background:#fff;border-radius:8px}ol.timeline li{padding:.5rem 1rem;border-bottom:1px solid #e4e4e7}ol.timeline time{color:#52525b;margin-right:.75rem}ol.timeline span{display:block}" +
        ".count{color:#52525b;font-weight:400}.label{color:#52525b}.breadcrumb ol{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0;margin:0 0 .5rem;font-size:.9rem}" +
        ".breadcrumb li+li::before{content:'/';margin-right:.5rem;color:#71717a}" +
        "select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}" +
        "fieldset.plain{border:0;padding:0;margin:0;min-width:0}.row{display:flex;flex-wrap:wrap;gap:1rem;background:#fff;border-radius:8px;padding:1rem}.row label{flex:1 1 16rem;margin:0}" +
        ".builder{background:#fff;border-radius:8px;padding:.5rem 1rem 1rem;margin:1rem 0}.builder h2{margin:.5rem 0}" +
        ".line{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;padding:.5rem;margin:.25rem 0;border-left:3px solid #99f6e4;background:#fafafa}" +
        ".line.group{border-left-color:#0f766e;background:#f0fdfa}.line.invalid{border-left-color:#b91c1c;background:#fef2f2}.line .error{flex-basis:100%}" +
        ".line select,.line input{width:auto;display:inline-block;margin:0}.line input.short,input.short{max-width:12rem}" +
        ".d1{margin-left:1.5rem!important}.d2{margin-left:3rem!important}.d3{margin-left:4.5rem!important}.d4{margin-left:6rem!important}.d5,.d6,.d7,.d8,.d9{margin-left:7.5rem!important}" +
        "button.small{padding:.3rem .7rem;font-size:.9rem}button.secondary{background:#e4e4e7;color:#18181b}a.button{display:inline-block;font-weight:600;padding:.6rem 1.2rem;border-radius:6px;background:#0f766e;color:#fff;text-decoration:none}" +
        "fieldset.choices{display:flex;flex-wrap:wrap;gap:.25rem 1rem;border:0;padding:0;margin:0}label.choice{font-weight:400;margin:0;display:flex;gap:.3rem;align-items:center}label.choice input{width:auto;margin:0}" +
        ".big{font-size:1.2rem}.big .value{font-size:2rem;font-weight:700}details.json{margin-top:1rem}pre{white-space:pre-wrap;word-break:break-all;font-size:.85rem}" +
        "#explain label{max-width:24rem}.chart{position:relative;height:18rem;background:#fff;border-radius:8px;padding:.5rem;margin:0 0 1rem}" +
        "table.grid td.edge-top{border-top:3px solid #134e4a}table.grid td.edge-bottom{border-bottom:3px solid #134e4a}" +
        "table.grid td.edge-left{border-left:3px solid #134e4a}table.grid td.edge-right{border-right:3px solid #134e4a}" +
        "form.period{max-width:30rem}table.grid a{color:inherit}progress{width:100%;height:1.2rem}" +
        "@media (max-width:40rem){table{display:block;overflow-x:auto}header{padding:.5rem}nav ul{flex-wrap:wrap}}" +
        ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";

    public static readonly string ContentSecurityPolicy =
        $"default-src 'self'; script-src 'self'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(StyleSheet)))}'; " +
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
}

/// <summary>The security headers of every UI page.</summary>
public sealed class UiHeaders : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var headers = context.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = UiPage.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
        return next();
    }
}

/// <summary>
/// The UI's scripts under /assets: our own and the two npm libraries, embedded in the assembly by the build, so the
/// app serves them wherever it runs. Revalidated by ETag rather than cached blindly: an upgrade shows at once.
/// </summary>
public static class UiAssets
{
    public static void UseUiAssets(this WebApplication app) => app.UseStaticFiles(new StaticFileOptions
    {
        FileProvider = new EmbeddedFileProvider(typeof(UiAssets).Assembly, "RetentionCampaigns.assets"),
        RequestPath = "/assets",
        OnPrepareResponse = context =>
        {
            context.Context.Response.Headers.CacheControl = "no-cache";
            context.Context.Response.Headers.XContentTypeOptions = "nosniff";
        },
    });
}
