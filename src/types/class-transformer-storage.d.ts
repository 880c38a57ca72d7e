/**
 * class-transformer keeps @Type/@Transform metadata in this module and exports no accessor for it; the validation
 * pipe only asks whether a DTO class has any (then plainToInstance has work to do).
 */
declare module 'class-transformer/cjs/storage.js' {
  export const defaultMetadataStorage: {
    findTypeMetadata(target: object, propertyName: string): unknown;
    findTransformMetadatas(target: object, propertyName: string, transformationType: number): unknown[];
  };
}
