using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;

namespace RetentionCampaigns.Templates;

/// <summary>
/// The variables a template may use, derived from <see cref="TemplateModel"/> so the validator and the renderer
/// cannot disagree. Names are snake_case, as Scriban's standard member renamer exposes the model's properties.
/// </summary>
public sealed class TemplateSchema
{
    // Leaf first: static fields initialise in order, and Root is built from it.
    static readonly TemplateSchema Leaf = new() { ValueType = typeof(string) };
    public static readonly TemplateSchema Root = FromType(typeof(TemplateModel), depth: 0);

    readonly Dictionary<string, TemplateSchema> children = new(StringComparer.Ordinal);

    /// <summary>Any child name is accepted (the shop's custom attributes).</summary>
    public bool IsOpen { get; private init; }
    /// <summary>The element of a list, for <c>{{ for }}</c>; null when this is not a list.</summary>
    public TemplateSchema? Element { get; private init; }
    /// <summary>A leaf's .NET type (string, int, DateTime, ...); null for objects and lists.</summary>
    public Type? ValueType { get; private init; }

    public IEnumerable<string> Names => children.Keys.Order(StringComparer.Ordinal);

    public TemplateSchema? Child(string name) =>
        children.TryGetValue(name, out var child) ? child : IsOpen ? Leaf : null;

    static TemplateSchema FromType(Type type, int depth)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return Leaf;
        if (type.IsPrimitive || type == typeof(decimal) || type == typeof(DateTime) || depth > 5) return new TemplateSchema { ValueType = type };
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)) return new TemplateSchema { IsOpen = true };
        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().FirstOrDefault() ?? typeof(object);
            return new TemplateSchema { Element = FromType(element, depth + 1) };
        }
        var schema = new TemplateSchema();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonIgnoreAttribute>() is not null || property.Name == "EqualityContract") continue;
            schema.children[Scriban.Runtime.StandardMemberRenamer.Rename(property.Name)] = FromType(property.PropertyType, depth + 1);
        }
        return schema;
    }

    /// <summary>Every leaf path, for error messages and the API's variable list.</summary>
    public IEnumerable<string> Paths(string prefix = "")
    {
        foreach (var name in Names)
        {
            var child = children[name];
            var path = prefix.Length == 0 ? name : $"{prefix}.{name}";
            if (child.children.Count == 0) yield return child.IsOpen ? path + ".*" : path;
            else foreach (var nested in child.Paths(path)) yield return nested;
        }
    }
}
