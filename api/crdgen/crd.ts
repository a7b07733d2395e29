import type { z } from "zod";
import { inputJsonSchema, type JsonSchema, schemaAtPath } from "./json-schema.ts";
import { schemaProblems, toStructuralSchema } from "./structural.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

/** Everything a CustomResourceDefinition says about one kind, with spec and status as zod schemas. */
export interface ResourceDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: "Namespaced" | "Cluster";
  description: string;
  spec: z.ZodType;
  /** Unset: the kind has no status (and no status subresource). */
  status?: z.ZodType;
  printerColumns: PrinterColumn[];
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced" | "Cluster";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JsonSchema };
      subresources?: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

/** A zod schema as a structural CRD schema; fails listing every field that lacks a description or bound. */
export function crdSchemaOf(schema: z.ZodType, path: string): JsonSchema {
  const structural = toStructuralSchema(inputJsonSchema(schema), path);
  const problems = schemaProblems(structural, path);
  if (problems.length > 0) {
    throw new Error(`the schema of ${path} cannot become a CRD:\n  ${problems.join("\n  ")}`);
  }
  return structural;
}

/** The root schema of a kind: apiVersion, kind, metadata (owned by the API server), spec and status. */
export function rootSchemaOf(resource: ResourceDefinition): JsonSchema {
  return {
    type: "object",
    description: resource.description,
    required: ["spec"],
    properties: {
      apiVersion: {
        type: "string",
        description:
          "APIVersion defines the versioned schema of this representation of an object. Servers should convert " +
          "recognized schemas to the latest internal value, and may reject unrecognized values.",
      },
      kind: {
        type: "string",
        description:
          "Kind is a string value representing the REST resource this object represents. Servers may infer " +
          "this from the endpoint the client submits requests to. In CamelCase.",
      },
      metadata: { type: "object" },
      spec: crdSchemaOf(resource.spec, "spec"),
      ...(resource.status ? { status: crdSchemaOf(resource.status, "status") } : {}),
    },
  };
}

/** Printer columns must point at fields that exist and have the column's type. */
export function printerColumnProblems(root: JsonSchema, columns: PrinterColumn[]): string[] {
  const problems: string[] = [];
  for (const column of columns) {
    if (column.jsonPath === ".metadata.creationTimestamp") continue;
    const field = schemaAtPath(root, column.jsonPath);
    const expectedType = column.type === "date" ? "string" : column.type;
    if (field === undefined) {
      problems.push(`printer column ${column.name}: ${column.jsonPath} is not a field of the schema`);
    } else if (field.type !== expectedType) {
      problems.push(
        `printer column ${column.name}: ${column.jsonPath} is a ${field.type}, not a ${column.type}`,
      );
    }
  }
  return problems;
}

export function buildCrd(resource: ResourceDefinition): CustomResourceDefinition {
  const openAPIV3Schema = rootSchemaOf(resource);
  const problems = printerColumnProblems(openAPIV3Schema, resource.printerColumns);
  if (problems.length > 0) throw new Error(`${resource.kind}:\n  ${problems.join("\n  ")}`);
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${resource.plural}.${resource.group}` },
    spec: {
      group: resource.group,
      names: {
        kind: resource.kind,
        listKind: `${resource.kind}List`,
        plural: resource.plural,
        singular: resource.singular,
        shortNames: resource.shortNames,
        categories: resource.categories,
      },
      scope: resource.scope,
      versions: [
        {
          name: resource.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          ...(resource.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: resource.printerColumns,
        },
      ],
    },
  };
}

/** Where `make crds` writes a kind's CRD, named as controller-gen names them. */
export function crdFileName(resource: ResourceDefinition): string {
  return `crds/${resource.group}_${resource.plural}.yaml`;
}
